"""The template's contract: parameters that refuse bad values, the settings table's SSM keys, a bucket
that is retained, private, encrypted, TLS-only and cleaned by lifecycle rules, and resources moto's
CloudFormation does not enforce (policies, subscriptions, patterns) checked here instead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coldvault import keys
from coldvault.cloud import packaging
from coldvault.cloud.parameters import check_overrides, parse_overrides, template_parameters
from coldvault.errors import UsageError
from coldvault.models import StorageClass
from coldvault.settings_table import ROWS

pytestmark = pytest.mark.cloud

PARAMS = template_parameters(packaging.packaged_template())
REQUIRED = {"ArchivalBucketName": "my-archive"}


def test_the_issue_parameters_exist_with_defaults_where_sensible() -> None:
    for name in (
        "ArchivalBucketName",
        "ArchiveStorageClass",
        "BackupVaultName",
        "DaysRecoveryPointsCreatedBefore",
        "ScheduleWindow",
        "MaxConcurrency",
        "MaxInProgressGB",
        "NotificationEmail",
        "KmsKeyArn",
    ):
        assert name in PARAMS, name
    assert PARAMS["ArchivalBucketName"].default is None
    assert set(PARAMS["ArchiveStorageClass"].allowed_values) == {c.value for c in StorageClass}


def test_the_parser_reads_what_cfn_lint_reads(template: dict[str, Any]) -> None:
    assert set(PARAMS) == set(template["Parameters"])
    for name, spec in template["Parameters"].items():
        assert PARAMS[name].allowed_pattern == spec.get("AllowedPattern"), name
        assert PARAMS[name].default == (str(spec["Default"]) if "Default" in spec else None), name


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("ScheduleWindow", "cron(0 3 ? * SUN *)", "cron(0 3 * * SUN)"),
        ("ScheduleWindow", "rate(7 days)", "every sunday"),
        ("NotificationEmail", "ops@example.com", "ops-at-example"),
        (
            "KmsKeyArn",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/x",
        ),
        ("BackupVaultName", "prod-vault_1", "a"),
        ("ArchivalBucketName", "my.archive-bucket", "My_Bucket"),
        ("MaxConcurrency", "40", "41"),
        ("DaysRecoveryPointsCreatedBefore", "0", "-1"),
        ("ArchiveStorageClass", "DEEP_ARCHIVE", "STANDARD"),
    ],
)
def test_bad_parameter_values_are_refused_before_deploying(name: str, good: str, bad: str) -> None:
    assert check_overrides(PARAMS, {**REQUIRED, name: good})[name] == good
    with pytest.raises(UsageError, match=name):
        check_overrides(PARAMS, {**REQUIRED, name: bad})


def test_overrides_unknown_missing_or_reserved_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown parameter 'Bucket'"):
        check_overrides(PARAMS, {**REQUIRED, "Bucket": "x"})
    with pytest.raises(UsageError, match="ArchivalBucketName"):
        check_overrides(PARAMS, {})
    with pytest.raises(UsageError, match="set by coldvault deploy"):
        check_overrides(PARAMS, {**REQUIRED, "ArtifactKey": "x"})
    with pytest.raises(UsageError, match="not Key=Value"):
        parse_overrides(["ArchivalBucketName"])
    # an update keeps the previous values of parameters not given again
    assert check_overrides(PARAMS, {}, {"ArchivalBucketName": "kept"})["ArchivalBucketName"] == "kept"


def _written(template: dict[str, Any]) -> dict[str, Any]:
    """The SSM keys the template writes under its path, and the value of each."""
    written: dict[str, Any] = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SSM::Parameter":
            name = resource["Properties"]["Name"]["Fn::Sub"]
            assert name.startswith("/coldvault/${AWS::StackName}/")
            written[name.rsplit("/", 1)[1]] = resource["Properties"]["Value"]
    return written


def test_the_settings_table_covers_every_template_parameter_and_ssm_key(template: dict[str, Any]) -> None:
    by_parameter = {r.parameter: r for r in ROWS if r.parameter}
    assert set(by_parameter) == set(template["Parameters"])
    by_ssm = {r.ssm: r for r in ROWS if r.ssm}
    written = _written(template)
    assert set(written) <= set(by_ssm), "the template writes a key no row reads"
    for key, value in written.items():
        row = by_ssm[key]
        assert value == ({"Ref": row.parameter} if row.parameter else {"Ref": "StatusQueue"}), key
    for row in ROWS:  # every row with both a parameter and a key is written by the template
        if row.parameter and row.ssm:
            assert written.get(row.ssm) == {"Ref": row.parameter}, row.ssm


def test_the_table_and_the_template_agree_on_defaults_and_values() -> None:
    deploy_defaults = {"BackupVaultName"}  # a convenience of `coldvault deploy`; a run needs the key
    for row in ROWS:
        if row.parameter is None:
            continue
        spec = PARAMS[row.parameter]
        if row.parameter in deploy_defaults:
            assert row.required
            assert spec.default is not None
        else:
            assert spec.default == row.default, row.parameter
        if row.field is None:
            continue
        if spec.allowed_pattern:  # the row's check is the template's
            pattern = spec.allowed_pattern.removeprefix("^").removesuffix("$")
            assert getattr(row.parse, "pattern", None) == pattern, row.parameter
        for value in spec.allowed_values:
            row.parse(value, datetime.now(UTC))
        for bound in (spec.min_value, spec.max_value):
            if bound is not None:
                row.parse(f"{bound:g}", datetime.now(UTC))  # the template's limits pass the row


def test_the_bucket_is_retained_private_encrypted_and_tls_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["ArchiveBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    assert bucket["Condition"] == "CreateBucket"
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    kms, s3 = sse["Fn::If"][1], sse["Fn::If"][2]
    assert kms == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "KmsKeyArn"}}
    assert s3 == {"SSEAlgorithm": "AES256"}
    statement = resources["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lifecycle_aborts_uploads_and_expires_staging_leftovers(template: dict[str, Any]) -> None:
    rules = {
        r["Id"]: r
        for r in template["Resources"]["ArchiveBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert (
        rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        > 0
    )
    staging = rules["expire-staging-leftovers"]
    # the tag the pipeline puts on staging objects (CreateStoreImageTask's S3ObjectTags)
    assert staging["TagFilters"] == [{"Key": keys.STAGING_TAG_KEY, "Value": keys.STAGING_TAG_VALUE}]
    assert staging["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 1
    assert "Prefix" not in staging  # staging objects live at the bucket root, found by their tag
    # nothing ever expires an archive or the catalogue
    for rule in rules.values():
        assert not str(rule.get("Prefix", "")).startswith(
            (keys.ARCHIVE_PREFIX, keys.CATALOG_PREFIX, keys.LOG_PREFIX)
        )
    # the working objects the rules expire are where the code writes them
    assert rules["expire-run-working-objects"]["Prefix"] == keys.RUNS_PREFIX
    assert rules["expire-released-leases"]["Prefix"] == keys.LEASE_PREFIX


def test_queue_topic_schedule_and_logs(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queue = resources["StatusQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 2 * 86400
    assert queue["SqsManagedSseEnabled"] is True
    subscription = resources["NotificationSubscription"]
    assert subscription["Condition"] == "HasEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    rule = resources["ScheduleRule"]["Properties"]
    assert rule["ScheduleExpression"] == {"Ref": "ScheduleWindow"}
    assert rule["Targets"][0]["Arn"] == {"Ref": "ArchiveStateMachine"}
    machine = resources["ArchiveStateMachine"]["Properties"]
    assert machine["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["StateMachineLogGroup", "Arn"]
    }
    assert isinstance(machine["DefinitionString"], str)  # no Fn::Sub: moto and cfn-lint read it as is

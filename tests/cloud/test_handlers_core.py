"""The Lambda handlers against the sandbox: the CLI's preflight checks before a run changes anything
(and a failed check fails the execution with its message), and a retried StartStore of a run renewing
that run's own lease."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from coldvault import keys
from coldvault.cloud import handlers
from coldvault.cloud.runtime import CONFIG_PATH_ENV, function_environment
from coldvault.errors import ConfigurationError, PreflightError
from coldvault.sandbox.admin import SandboxAdmin
from tests.cloud.conftest import walk_states
from tests.integration.test_archive_support import make_bucket

pytestmark = [pytest.mark.cloud, pytest.mark.integration]

CONFIG = "/coldvault/handlers"
VAULT = "handler-vault"
BUCKET = "handler-archive"


def _bucket(*, private: bool = True, encrypted: bool = True) -> None:
    make_bucket(BUCKET, private=private, encrypted=encrypted)


@pytest.fixture
def function_env(aws_env: dict[str, str], admin: SandboxAdmin) -> Iterator[dict[str, str]]:
    """A seeded vault, the run's SSM parameters, and the handlers' environment (as Lambda sets it)."""
    admin.seed(vault_name=VAULT, instances=1, daily_days=0, monthly_months=2, seed=5, ebs_point=False)
    ssm = boto3.client("ssm")
    for key, value in (("vault", VAULT), ("bucket", BUCKET), ("older-than-days", "20")):
        ssm.put_parameter(Name=f"{CONFIG}/{key}", Value=value, Type="String")
    env = {**aws_env, CONFIG_PATH_ENV: CONFIG, "AWS_LAMBDA_FUNCTION_NAME": "test"}
    with function_environment(env):
        yield env


def _store_tasks() -> list[dict[str, Any]]:
    return list(boto3.client("ec2").describe_store_image_tasks().get("StoreImageTaskResults", []))


def test_a_retried_start_store_of_the_same_run_renews_its_own_lease(function_env: dict[str, str]) -> None:
    _bucket()
    listed = handlers.list_candidates({"execution": "arn:execution:one"}, None)
    assert listed["items"]
    ami = listed["items"][0]
    event = {"run": listed["run"], "ami_id": ami, "execution": "arn:execution:one"}
    first = handlers.start_store(event, None)
    # Step Functions retries the task (a Lambda timeout after the store task started, say): same run.
    again = handlers.start_store(event, None)
    for out in (first, again):
        assert out["work"]["stage"] in ("storing", "stored"), out["work"]
        assert out["work"]["outcome"] in (None, "")
    lease = boto3.client("s3").get_object(Bucket=BUCKET, Key=keys.lease_key(ami))["Body"].read()
    assert listed["run"]["run_id"].encode() in lease  # the lease names the execution's run
    assert [t["AmiId"] for t in _store_tasks()].count(ami) == 1, "the retry reused the store task"

    # Another run (another execution) finds the point held and leaves it alone.
    other = handlers.list_candidates({"execution": "arn:execution:two"}, None)
    assert other["run"]["run_id"] != listed["run"]["run_id"]
    held = handlers.start_store({"run": other["run"], "ami_id": ami, "execution": "two"}, None)
    assert held["work"]["outcome"] == "leased"


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ({"private": False}, "does not block public access"),
        ({"encrypted": False}, "has no default encryption"),
        (None, "does not exist"),
    ],
)
def test_list_candidates_runs_the_preflight_checks_before_any_change(
    function_env: dict[str, str], bucket: dict[str, bool] | None, message: str
) -> None:
    if bucket is not None:
        _bucket(**bucket)
    with pytest.raises(PreflightError, match=message):
        handlers.list_candidates({"execution": "arn:execution:bad"}, None)
    assert _store_tasks() == []
    if bucket is not None:
        assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_list_candidates_refuses_a_missing_vault(function_env: dict[str, str]) -> None:
    _bucket()
    boto3.client("ssm").put_parameter(
        Name=f"{CONFIG}/vault", Value="no-such-vault", Type="String", Overwrite=True
    )
    with pytest.raises(PreflightError, match="backup vault 'no-such-vault' does not exist"):
        handlers.list_candidates({"execution": "arn:execution:novault"}, None)


def test_a_failed_listing_fails_the_run_through_a_fail_state_carrying_the_cause(asl: dict[str, Any]) -> None:
    states = dict(walk_states(asl["States"]))
    catch = states["ListCandidates"]["Catch"]
    assert any("States.ALL" in c["ErrorEquals"] and c["ResultPath"] == "$.error" for c in catch)
    retried = {e for r in states["ListCandidates"].get("Retry", []) for e in r["ErrorEquals"]}
    # not retried: a failed check does not pass on a retry
    assert "PreflightError" not in retried
    assert "States.ALL" not in retried
    target = states[catch[0]["Next"]]
    while target["Type"] != "Fail":
        target = states[target["Next"]]
    assert target["CausePath"] == "$.error.Cause"


@pytest.mark.slow
def test_a_deployed_run_with_an_unsafe_bucket_fails_with_the_preflight_message(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    admin.update_settings(store_bytes_per_second=5e13)
    admin.seed(vault_name="unsafe", instances=1, daily_days=0, monthly_months=1, seed=4, ebs_point=False)
    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": "unsafe-archive",
        "BackupVaultName": "unsafe",
        "DaysRecoveryPointsCreatedBefore": "20",
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "unsafe", overrides, None), SystemClock())
    s3 = boto3.client("s3")
    # the template's bucket blocks public access (the sandbox applies it as CloudFormation does)
    assert all(s3.get_public_access_block(Bucket="unsafe-archive")["PublicAccessBlockConfiguration"].values())
    s3.delete_public_access_block(Bucket="unsafe-archive")  # then someone turns it off
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "unsafe"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "FAILED"
    assert "ArchiveRunFailed" in outcome.error
    assert "PreflightError" in outcome.error
    assert "does not block public access" in outcome.error
    assert _store_tasks() == []
    assert s3.list_objects_v2(Bucket="unsafe-archive", Prefix="runs/").get("KeyCount", 0) == 0


@pytest.mark.parametrize(("key", "value"), [("concurrency", "abc"), ("storage-class", "FOO")])
def test_list_candidates_refuses_a_bad_ssm_value_as_the_cli_does(
    function_env: dict[str, str], key: str, value: str
) -> None:
    _bucket()
    boto3.client("ssm").put_parameter(Name=f"{CONFIG}/{key}", Value=value, Type="String", Overwrite=True)
    with pytest.raises(ConfigurationError, match=f"SSM parameter {CONFIG}/{key} must be .*, not '{value}'"):
        handlers.list_candidates({"execution": "arn:execution:badvalue"}, None)
    assert _store_tasks() == []
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


@pytest.mark.slow
def test_a_deployed_run_with_a_bad_ssm_value_fails_with_its_message_and_is_notified(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    admin.seed(vault_name="badvalue", instances=1, daily_days=0, monthly_months=1, seed=4, ebs_point=False)
    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {"ArchivalBucketName": "badvalue-archive", "BackupVaultName": "badvalue"}
    stack = deploy.execute_deploy(aws, deploy.plan_deploy(aws, "badvalue", overrides, None), SystemClock())
    sqs = boto3.client("sqs")
    notified = sqs.create_queue(QueueName="badvalue-notified")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=notified, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(
        TopicArn=stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn
    )
    boto3.client("ssm").put_parameter(
        Name="/coldvault/badvalue/concurrency", Value="abc", Type="String", Overwrite=True
    )
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "badvalue"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "FAILED"
    assert "ArchiveRunFailed" in outcome.error
    message = "SSM parameter /coldvault/badvalue/concurrency must be a whole number at least 1, not 'abc'"
    assert message in outcome.error
    (note,) = sqs.receive_message(QueueUrl=notified, WaitTimeSeconds=1)["Messages"]
    body = json.loads(note["Body"])
    assert body["Subject"] == "coldvault: archive run failed"
    assert "ConfigurationError" in body["Message"]
    assert message in body["Message"]
    assert _store_tasks() == []
    assert boto3.client("s3").list_objects_v2(Bucket="badvalue-archive").get("KeyCount", 0) == 0


def test_each_step_renews_its_lease_and_a_point_taken_over_is_left_alone(
    function_env: dict[str, str],
) -> None:
    """A run that stops calling steps (a failed execution) loses its points within ``lease_seconds``;
    while it works, each step renews the lease; a point another run took over meanwhile is not touched."""
    import json
    from datetime import UTC, datetime, timedelta

    from coldvault import lease
    from coldvault.aws.s3 import S3
    from coldvault.errors import LeaseHeld

    _bucket()
    listed = handlers.list_candidates({"execution": "arn:execution:two"}, None)
    ami = listed["items"][0]
    out = handlers.start_store({"run": listed["run"], "ami_id": ami, "execution": "x"}, None)
    s3 = boto3.client("s3")

    def held() -> dict[str, Any]:
        return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=keys.lease_key(ami))["Body"].read()))

    first = held()
    assert datetime.fromisoformat(first["expires_at"]) <= datetime.now(UTC) + timedelta(hours=1)  # minutes
    checked = handlers.check_store({"run": out["run"], "work": out["work"], "execution": "x"}, None)
    assert held()["expires_at"] >= first["expires_at"]
    assert held()["run_id"] == first["run_id"]
    # The lease expired (the run stopped renewing) and another run took the point over.
    other = lease.LeaseOwner("other-run", "elsewhere", 1)
    later = datetime.now(UTC) + timedelta(hours=2)
    lease.acquire(S3(s3), BUCKET, ami, other, now=later, seconds=3600)
    with pytest.raises(LeaseHeld):
        handlers.check_store({"run": checked["run"], "work": checked["work"], "execution": "x"}, None)
    assert held()["run_id"] == "other-run"


def test_verify_content_is_refused_in_the_cloud_with_one_line(function_env: dict[str, str]) -> None:
    """awscrt (native code) is not in the Lambda package: the setting fails the run at once with the
    fix, instead of every point failing at verification."""
    _bucket()
    boto3.client("ssm").put_parameter(Name=f"{CONFIG}/verify-content", Value="true", Type="String")
    with pytest.raises(ConfigurationError) as caught:
        handlers.list_candidates({"execution": "arn:execution:one"}, None)
    line = caught.value.one_line()
    assert "\n" not in line
    assert "verify-content is not supported by the Lambda functions" in line
    assert f"delete {CONFIG}/verify-content" in line

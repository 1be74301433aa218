"""``coldvault deploy`` against the sandbox as a new user meets it: the template's lowest values deploy,
a second deploy with no change succeeds, and a failed create rolls back with its reason so that a
corrected deploy (after deleting the rolled-back stack, as AWS requires) works."""

from __future__ import annotations

import boto3
import pytest

from coldvault.cli.app import main

pytestmark = [pytest.mark.cloud, pytest.mark.integration]


def _deploy(capsys: pytest.CaptureFixture[str], *overrides: str) -> tuple[int, str]:
    argv = ["deploy", "--stack-name", "st", "--parameter-overrides", "BackupVaultName=vault-1", *overrides]
    try:
        main([*argv, "--yes"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_minimum_values_deploy_and_an_unchanged_redeploy_succeeds(
    aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = ("ArchivalBucketName=zero-days", "DaysRecoveryPointsCreatedBefore=0")
    assert _deploy(capsys, *overrides)[0] == 0
    value = boto3.client("ssm").get_parameter(Name="/coldvault/st/older-than-days")["Parameter"]["Value"]
    assert value == "0"
    code, shown = _deploy(capsys, *overrides)
    assert (code, "Traceback" in shown) == (0, False)
    assert "no changes" in shown


def test_a_failed_create_is_rolled_back_with_its_reason_and_a_corrected_deploy_works(
    aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("s3").create_bucket(Bucket="someone-elses")
    code, shown = _deploy(capsys, "ArchivalBucketName=someone-elses")
    assert code == 1
    assert "ROLLBACK_COMPLETE" in shown
    assert "ArchiveBucket: BucketAlreadyExists" in shown
    cfn = boto3.client("cloudformation")
    assert cfn.describe_stacks(StackName="st")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    cfn.delete_stack(StackName="st")
    assert _deploy(capsys, "ArchivalBucketName=mine-now")[0] == 0
    assert cfn.describe_stacks(StackName="st")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

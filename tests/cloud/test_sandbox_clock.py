"""Both engines see the sandbox's virtual time: after ``POST /_coldvault/clock/advance`` the deployed
state machine (Lambdas run by the sandbox) and ``coldvault archive`` archive the points that are old by
the virtual clock, although by the wall clock none is. The time comes from the ``Date`` header the
sandbox stamps on every response, read by ``coldvault.clock.ServerClock``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import boto3
import pytest

from coldvault.aws.session import AwsSession
from coldvault.cli.app import main
from coldvault.clock import SystemClock
from coldvault.cloud import deploy
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import make_bucket

pytestmark = [pytest.mark.cloud, pytest.mark.integration]

FLEET = {"instances": 1, "daily_days": 2, "monthly_months": 0, "unusable": False, "ebs_point": False}
ADVANCE_DAYS = 30
OLDER_THAN_DAYS = 20  # old by virtual time (>= 30 days), young by wall time (<= 2 days)


def _archived(report: dict[str, object]) -> int:
    items = report["items"]
    assert isinstance(items, list)
    return Counter(str(i["outcome"]) for i in items)["archived"]


def test_every_response_carries_the_virtual_time(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    admin.advance_clock(ADVANCE_DAYS * 86400)
    response = boto3.client("sts").get_caller_identity()
    stamped = parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
    assert stamped - datetime.now(UTC) > timedelta(days=ADVANCE_DAYS) - timedelta(minutes=1)
    aws = AwsSession(region="us-east-1")
    assert aws.clock.now() - datetime.now(UTC) > timedelta(days=ADVANCE_DAYS) - timedelta(minutes=1)


def test_the_deployed_state_machine_and_the_cli_archive_by_virtual_age(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    for vault in ("cloud-vault", "cli-vault"):
        admin.seed(vault_name=vault, **FLEET)
    admin.advance_clock(ADVANCE_DAYS * 86400)

    aws = AwsSession(region="us-east-1")
    overrides = {
        "ArchivalBucketName": "cloud-archive",
        "BackupVaultName": "cloud-vault",
        "DaysRecoveryPointsCreatedBefore": str(OLDER_THAN_DAYS),
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "clocked", overrides, None), SystemClock())
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "clocked"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "SUCCEEDED"
    assert outcome.report is not None
    assert _archived(outcome.report) == 2

    make_bucket("cli-archive")
    argv = ["archive", "--vault", "cli-vault", "--bucket", "cli-archive"]
    argv += ["--older-than", str(OLDER_THAN_DAYS)]
    code: object = 0
    try:
        main([*argv, "--poll-min-seconds", "1", "--yes"])
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None)
    points = boto3.client("backup").list_recovery_points_by_backup_vault(BackupVaultName="cli-vault")
    assert [p["Status"] for p in points["RecoveryPoints"]] == []  # both archived, then deleted

"""Shared pieces of the restore tests (no tests here): a clock on the sandbox's virtual time, and an
archive made by coldvault's own archive steps from a seeded recovery point."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from coldvault.aws.backup import Backup
from coldvault.aws.ec2 import Ec2
from coldvault.aws.s3 import S3
from coldvault.aws.session import AwsSession
from coldvault.aws.sqs import Sqs
from coldvault.cli.app import main
from coldvault.config import Settings
from coldvault.lease import LeaseOwner
from coldvault.models import Outcome, RecoveryPoint, Stage, StorageClass
from coldvault.pipeline import (
    Services,
    check_stores,
    copy_archive,
    delete_recovery_point,
    new_work,
    publish_result,
    services_from_session,
    start_store,
    verify_archive,
)
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration import test_archive_support as archive_support
from tests.support.fleet import run_instance

VAULT = "restore-vault"
REGION = "us-east-1"


@dataclass
class SandboxClock:
    """The sandbox's virtual time: ``sleep`` advances it through the admin API (nobody waits)."""

    admin: SandboxAdmin
    slept: list[float] = field(default_factory=list)
    _mono: float = 0.0

    def now(self) -> datetime:
        return datetime.fromisoformat(self.admin.clock()["now"])

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._mono += seconds
        self.admin.advance_clock(seconds)

    def monotonic(self) -> float:
        return self._mono


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def restore_services(admin: SandboxAdmin, *, s3: Any = None, ec2: Any = None) -> Services:
    """The services a restore runs on, over the given boto3 clients (to count their calls) or new ones,
    on the sandbox's virtual clock."""
    return Services(
        backup=Backup(boto3.client("backup", region_name=REGION)),
        ec2=Ec2(ec2 or boto3.client("ec2", region_name=REGION)),
        s3=S3(s3 or boto3.client("s3", region_name=REGION)),
        sqs=Sqs(boto3.client("sqs", region_name=REGION)),
        clock=SandboxClock(admin),
        region=REGION,
    )


def make_bucket(name: str, region: str = REGION) -> None:
    """A plain bucket (restore needs no preflight); archive tests make theirs private and encrypted."""
    archive_support.make_bucket(name, encrypted=False, private=False, region=region)


def seeded_point(
    admin: SandboxAdmin,
    *,
    tags: dict[str, str],
    volumes: list[tuple[str, int, bool]],
    age_days: float = 40,
) -> dict[str, Any]:
    """An instance with ``volumes`` (device, GiB, encrypted) and ``tags``, and a recovery point of it."""
    ec2 = boto3.client("ec2", region_name=REGION)
    instance_id = run_instance(ec2, volumes, tags)
    return admin.create_recovery_point(
        vault_name=VAULT, instance_id=instance_id, age_days=age_days, create_vault=True
    )


def archive_point(admin: SandboxAdmin, bucket: str, storage_class: str, point_arn: str) -> tuple[str, str]:
    """Archive one recovery point with coldvault's archive steps; (AMI id, archive key)."""
    aws = AwsSession(region=REGION)
    clock = SandboxClock(admin)
    svc = services_from_session(aws, clock=clock, owner=LeaseOwner(run_id="restore-test"))
    settings = Settings(
        vault=VAULT,
        bucket=bucket,
        cutoff=clock.now() + timedelta(days=1),
        run_id="restore-test",
        storage_class=StorageClass(storage_class),
    )
    point = _point(svc, point_arn)
    work = start_store(svc, settings, new_work(settings, point))
    for _ in range(50):
        if work.stage is not Stage.STORING:
            break
        clock.sleep(max(1.0, work.next_poll_seconds))
        (work,) = check_stores(svc, settings, [work])
    while work.stage in (Stage.STORED, Stage.COPYING):
        work = copy_archive(svc, settings, work)
    work = verify_archive(svc, settings, work)
    assert work.stage is Stage.VERIFIED, work.error
    work = publish_result(svc, settings, delete_recovery_point(svc, settings, work))
    assert work.outcome in (Outcome.ARCHIVED, Outcome.RETAINED), work.error
    return work.ami_id, work.archive_key


def _point(svc: Any, arn: str) -> RecoveryPoint:
    point: RecoveryPoint | None = svc.backup.describe_recovery_point(VAULT, arn)
    assert point is not None
    return point


def slow_glacier_restores(admin: SandboxAdmin, scale: float = 1.0) -> None:
    """Make Glacier restores take the tier's AWS duration x ``scale`` of sandbox time (Standard 5 h,
    Bulk 12 h for GLACIER; 12 h / 48 h for DEEP_ARCHIVE): ``ongoing-request="true"`` until then,
    a second request meanwhile refused with ``RestoreAlreadyInProgress``. The sandbox's reset between
    tests goes back to restores that complete at once."""
    admin.update_settings(glacier_restore_scale=scale)


def count_calls(client: Any, operation: str) -> list[str]:
    """A list that grows by one entry per ``operation`` call made through ``client``."""
    calls: list[str] = []
    client.meta.events.register(f"before-call.*.{operation}", lambda **_: calls.append(operation))
    return calls

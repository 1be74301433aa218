"""Glacier restores on the sandbox: a restore that stays in progress for several polls, a rerun that
attaches to it (one RestoreObject, one charge), two runs racing for the request, the deadline."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from coldvault.aws import s3_glacier
from coldvault.aws.s3 import S3
from coldvault.errors import AccessDenied, RestoreDeadlineExceeded
from coldvault.pipeline import Services
from coldvault.restore import RestoreOptions, Stage, run_restore
from coldvault.restore import steps as restore_steps
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    SandboxClock,
    archive_point,
    count_calls,
    make_bucket,
    restore_services,
    seeded_point,
    slow_glacier_restores,
)

pytestmark = pytest.mark.integration
BUCKET = "archive-glacier"


@pytest.fixture
def glacier_archive(aws_env: dict[str, str], admin: SandboxAdmin) -> str:
    """A GLACIER archive whose restores take AWS's time: Standard 5 h, Bulk 12 h of sandbox time."""
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "db-01"}, volumes=[("/dev/xvda", 20, False)])
    ami_id, _ = archive_point(admin, BUCKET, "GLACIER", point["RecoveryPointArn"])
    slow_glacier_restores(admin)
    return ami_id


def _services(admin: SandboxAdmin) -> tuple[Services, list[str], SandboxClock]:
    s3 = boto3.client("s3", region_name=REGION)
    svc = restore_services(admin, s3=s3)
    assert isinstance(svc.clock, SandboxClock)
    return svc, count_calls(s3, "RestoreObject"), svc.clock


def _accept(*_: Any) -> None:
    return None


def test_restore_in_progress_for_several_polls_then_ami(glacier_archive: str, admin: SandboxAdmin) -> None:
    svc, restore_calls, clock = _services(admin)
    seen: list[Stage] = []
    work = run_restore(
        svc, RestoreOptions(tier="Standard"), glacier_archive, bucket=BUCKET, wait=True,
        confirm=_accept, progress=lambda w: seen.append(w.stage),
    )  # fmt: skip
    assert work.stage is Stage.DONE
    assert restore_calls == ["RestoreObject"]
    # Several looks saw ongoing-request="true" before the archive became readable.
    assert seen.count(Stage.THAWING) >= 3
    assert seen.index(Stage.READABLE) > seen.index(Stage.THAWING)
    # The first wait is the earliest expected completion of a Standard restore (3 h): one wait, not a loop.
    assert clock.slept[0] == pytest.approx(3 * 3600, rel=0.01)


def test_rerun_while_in_progress_attaches_without_a_second_request(
    glacier_archive: str, admin: SandboxAdmin
) -> None:
    svc, restore_calls, _ = _services(admin)
    first = run_restore(svc, RestoreOptions(), glacier_archive, bucket=BUCKET, wait=False, confirm=_accept)
    assert first.stage is Stage.THAWING
    assert first.thaw == "requested"
    second = run_restore(svc, RestoreOptions(), glacier_archive, bucket=BUCKET, wait=False, confirm=_accept)
    assert second.stage is Stage.THAWING
    assert second.thaw == "attached"
    assert restore_calls == ["RestoreObject"]
    third = run_restore(svc, RestoreOptions(), glacier_archive, bucket=BUCKET, wait=True, confirm=_accept)
    assert third.stage is Stage.DONE
    assert restore_calls == ["RestoreObject"]


def test_deadline_stops_the_wait_and_reports_the_failure(glacier_archive: str, admin: SandboxAdmin) -> None:
    svc, _, clock = _services(admin)
    # Standard: the first look after 3 h, then every 20 min; the restore takes 5 h.
    with pytest.raises(RestoreDeadlineExceeded):
        run_restore(
            svc, RestoreOptions(deadline_seconds=3.5 * 3600), glacier_archive, bucket=BUCKET, wait=True,
            confirm=_accept,
        )  # fmt: skip
    assert sum(clock.slept) <= 3.5 * 3600
    s3 = boto3.client("s3", region_name=REGION)
    reports = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="logs/").get("Contents", [])]
    bodies = [s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in reports if k.endswith(".json")]
    assert any(b"RestoreDeadlineExceeded" in b for b in bodies)
    images = boto3.client("ec2", region_name=REGION).describe_images(
        Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["coldvault:restored-from"]}]
    )["Images"]
    assert images == []


def test_two_runs_racing_for_the_restore_make_one_request(glacier_archive: str, admin: SandboxAdmin) -> None:
    """Both runs saw the archive cold; the other run's RestoreObject lands first, so this run's is
    refused by S3 with RestoreAlreadyInProgress (409), which the run treats as attaching to it."""
    svc, restore_calls, _ = _services(admin)
    work = restore_steps.prepare(svc, RestoreOptions(tier="Bulk"), glacier_archive, bucket=BUCKET)
    other = boto3.client("s3", region_name=REGION)
    raced: list[s3_glacier.RestoreRequest] = []

    def other_run_first(**_: Any) -> None:
        if not raced:  # once: the other run's request, between this run's look and its request
            raced.append(S3(other).request_restore(BUCKET, work.archive_key, days=1, tier="Bulk"))

    svc.s3.client.meta.events.register("before-call.s3.RestoreObject", other_run_first)
    thawing = restore_steps.thaw(svc, work)

    assert raced == [s3_glacier.RestoreRequest.STARTED]
    assert restore_calls == ["RestoreObject"]  # this run's request was made, and refused
    assert thawing.stage is Stage.THAWING
    assert thawing.thaw == "attached"
    again = S3(other).request_restore(BUCKET, work.archive_key, days=1, tier="Bulk")
    assert again is s3_glacier.RestoreRequest.ALREADY_IN_PROGRESS


def test_restore_object_answers(glacier_archive: str, admin: SandboxAdmin) -> None:
    """202 → started, 409 → already in progress, 200 on a restored copy → already readable (its expiry
    extended), an injected AccessDenied → the named error."""
    s3 = S3(boto3.client("s3", region_name=REGION))
    key = restore_steps.prepare(
        _services(admin)[0], RestoreOptions(), glacier_archive, bucket=BUCKET
    ).archive_key
    admin.add_fault("RestoreObject", "access_denied", times=1)
    with pytest.raises(AccessDenied):
        s3.request_restore(BUCKET, key, days=2, tier="Expedited")
    cold = s3.head_archive(BUCKET, key)
    assert cold is not None
    assert cold.restore is s3_glacier.RestoreStatus.NONE  # the refused request changed nothing
    assert s3.request_restore(BUCKET, key, days=2, tier="Expedited") is s3_glacier.RestoreRequest.STARTED
    assert (
        s3.request_restore(BUCKET, key, days=2, tier="Expedited")
        is s3_glacier.RestoreRequest.ALREADY_IN_PROGRESS
    )
    admin.advance_clock(5 * 60 + 1)
    readable = s3.head_archive(BUCKET, key)
    assert readable is not None
    assert readable.restore is s3_glacier.RestoreStatus.READABLE
    admin.advance_clock(24 * 3600)
    answer = s3.request_restore(BUCKET, key, days=5, tier="Expedited")
    assert answer is s3_glacier.RestoreRequest.ALREADY_READABLE
    extended = s3.head_archive(BUCKET, key)
    assert extended is not None
    assert readable.restore_expiry is not None
    assert extended.restore_expiry is not None
    assert extended.restore_expiry > readable.restore_expiry


def test_no_expedited_capacity_falls_back_to_standard(glacier_archive: str, admin: SandboxAdmin) -> None:
    """S3 answers 503 GlacierExpeditedRetrievalNotAvailable when it has no Expedited capacity: the
    restore asks again as Standard (recorded in the work, so the waits and the report say Standard)."""
    # One attempt per call: botocore retries a 503 itself, and with no capacity every retry fails alike.
    s3 = boto3.client("s3", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    svc = restore_services(admin, s3=s3)
    restore_calls = count_calls(s3, "RestoreObject")
    admin.add_fault(
        "RestoreObject",
        "error",
        code="GlacierExpeditedRetrievalNotAvailable",
        reason="Glacier expedited retrievals are currently not available, please try again later",
        status=503,
        times=1,
    )
    work = run_restore(
        svc, RestoreOptions(tier="Expedited"), glacier_archive, bucket=BUCKET, wait=False, confirm=_accept
    )
    assert work.stage is Stage.THAWING
    assert work.tier == "Standard"
    assert restore_calls == ["RestoreObject", "RestoreObject"]
    assert work.next_poll_seconds == pytest.approx(3 * 3600, rel=0.01)  # Standard's earliest, not a minute

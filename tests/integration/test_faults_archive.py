"""Fault matrix: a fault injected at each step boundary, then (where it is lifted) a rerun that converges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    VAULT,
    archivable_fleet,
    archive_args,
    assert_invariants,
    manifests,
    objects,
    points,
    read_json,
    run_inprocess,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def _setup(admin: SandboxAdmin, **params: Any) -> list[str]:
    """Two old EC2 points of one instance; their AMI ids."""
    archivable_fleet(admin, months=2, **params)
    return sorted(a.rsplit("/", 1)[-1] for a in points())


def _report() -> dict[str, Any]:
    """The latest run's report (by its finish time: two runs can share the second in the key)."""
    reports = [read_json(k) for k in objects(prefix="logs/") if k.endswith(".json")]
    return max(reports, key=lambda r: datetime.fromisoformat(r["finished"]))


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {i["ami_id"]: i["outcome"] for i in report["items"]}


def test_failed_store_task_fails_that_point_only_and_a_rerun_finishes(admin: SandboxAdmin) -> None:
    bad, good = _setup(admin)
    admin.add_fault("StoreTask", "fail", resources=[bad], times=1, reason="InternalError: injected")
    assert run_inprocess(archive_args()) == 1
    report = _report()
    assert _outcomes(report) == {bad: "failed", good: "archived"}
    item = next(i for i in report["items"] if i["ami_id"] == bad)
    assert "injected" in item["error"]
    assert item["error_type"] == "StoreTaskFailed"
    assert any(a.endswith(bad) for a in points()), "the failed point is kept"
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    assert_invariants(one_store_each=False)


def test_throttling_within_retries_is_absorbed(admin: SandboxAdmin) -> None:
    _setup(admin)
    admin.add_fault("CreateStoreImageTask", "throttle", times=2)
    admin.add_fault("DescribeStoreImageTasks", "throttle", times=1)
    admin.add_fault("DeleteRecoveryPoint", "throttle", times=1)
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    assert_invariants()


def test_store_quota_refusal_is_waited_out(admin: SandboxAdmin) -> None:
    _setup(admin)
    admin.add_fault("CreateStoreImageTask", "quota", times=3)
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    assert_invariants()


def test_store_quota_past_its_deadline_fails_and_keeps_points(admin: SandboxAdmin) -> None:
    amis = _setup(admin)
    admin.add_fault("CreateStoreImageTask", "quota")
    assert run_inprocess(archive_args("--quota-wait-hours", "0.0002")) == 1
    assert set(_outcomes(_report()).values()) == {"failed"}
    assert sorted(a.rsplit("/", 1)[-1] for a in points()) == amis
    assert manifests() == {}
    assert_invariants(settled=False)


def test_access_denied_on_store_fails_that_point(admin: SandboxAdmin) -> None:
    bad, good = _setup(admin)
    admin.add_fault("CreateStoreImageTask", "access_denied", resources=[bad])
    assert run_inprocess(archive_args()) == 1
    report = _report()
    assert _outcomes(report) == {bad: "failed", good: "archived"}
    assert next(i for i in report["items"] if i["ami_id"] == bad)["error_type"] == "AccessDenied"


@pytest.mark.parametrize("kind", ["silent_expire", "access_denied"])
def test_refused_deletion_is_retained_then_finished_by_a_rerun(admin: SandboxAdmin, kind: str) -> None:
    bad, good = _setup(admin)
    admin.add_fault("DeleteRecoveryPoint", kind, resources=[bad])
    assert run_inprocess(archive_args()) == 1
    report = _report()
    assert _outcomes(report) == {bad: "retained", good: "archived"}
    doc = manifests()[bad]
    assert doc["deletion"]["state"] == "pending"
    assert doc["deletion"]["reason"]
    remaining = points()
    assert [a.rsplit("/", 1)[-1] for a in remaining] == [bad]
    if kind == "silent_expire":
        assert next(iter(remaining.values()))["Status"] == "EXPIRED"
    assert run_inprocess(archive_args()) == 1, "still refused: still retained"
    admin.clear_faults()
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    assert manifests()[bad]["deletion"]["state"] == "confirmed"
    assert_invariants()


def test_vault_lock_points_are_skipped_or_retained(admin: SandboxAdmin) -> None:
    _setup(admin, lock_min_retention_days=365)
    assert run_inprocess(archive_args()) == 0  # nothing selected: every point is under the lock
    assert manifests() == {}
    assert run_inprocess(archive_args("--include-undeletable")) == 1
    assert set(_outcomes(_report()).values()) == {"retained"}
    assert all(d["deletion"]["state"] == "pending" for d in manifests().values())
    assert len(points()) == 2
    assert_invariants(settled=False)
    assert objects(BUCKET, "leases/") == {}


def test_a_foreign_object_at_the_archive_key_is_never_overwritten(admin: SandboxAdmin) -> None:
    from coldvault import keys
    from coldvault.aws.backup import point_from_api

    bad, good = _setup(admin)
    backup = boto3.client("backup")
    arn = next(a for a in points() if a.endswith(bad))
    point = point_from_api(backup.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=arn), VAULT)
    key = keys.archive_key(point)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"someone else's object")
    assert run_inprocess(archive_args()) == 1
    assert _outcomes(_report()) == {bad: "failed", good: "archived"}
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"someone else's object"
    assert arn in points(), "its recovery point is kept"
    assert bad not in manifests()


def test_a_point_leased_by_another_live_run_is_left_alone(admin: SandboxAdmin) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from coldvault import keys
    from tests.integration.test_archive_support import store_task_counts

    bad, good = _setup(admin)
    holder = {
        "run_id": "other-run",
        "host": "another-host",
        "pid": 1,
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }
    boto3.client("s3").put_object(Bucket=BUCKET, Key=keys.lease_key(bad), Body=json.dumps(holder).encode())
    assert run_inprocess(archive_args()) == 1
    assert _outcomes(_report()) == {bad: "leased", good: "archived"}
    assert bad not in store_task_counts()
    assert any(a.endswith(bad) for a in points())
    assert read_json(keys.lease_key(bad))["run_id"] == "other-run", "the other run's lease is untouched"

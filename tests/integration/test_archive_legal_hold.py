"""A recovery point under an AWS Backup legal hold: ``plan`` shows it skipped and why, ``archive`` leaves
it alone, ``--include-undeletable`` archives it and retains it (the deletion is refused), and once the
hold is cancelled a rerun finishes its deletion."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    VAULT,
    archivable_fleet,
    archive_args,
    assert_invariants,
    manifests,
    objects,
    points,
    read_json,
    run_inprocess,
    store_task_counts,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def _hold_one() -> tuple[str, str, str]:
    """Two old points of one instance, a legal hold on the older one: (held AMI, free AMI, hold id)."""
    listed = sorted(points().values(), key=lambda p: p["CreationDate"])
    held, free = listed[0], listed[1]
    created = held["CreationDate"]
    hold = boto3.client("backup").create_legal_hold(
        Title="audit",
        Description="keep the oldest backup",
        RecoveryPointSelection={
            "VaultNames": [VAULT],
            "DateRange": {
                "FromDate": created - timedelta(seconds=1),
                "ToDate": created + timedelta(seconds=1),
            },
        },
    )
    ami = str(held["RecoveryPointArn"]).rsplit("/", 1)[1]
    return ami, str(free["RecoveryPointArn"]).rsplit("/", 1)[1], str(hold["LegalHoldId"])


def _reports() -> set[str]:
    return {k for k in objects(prefix="logs/") if k.endswith(".json")}


def _outcomes(before: set[str]) -> dict[str, str]:
    """The outcomes in the one report written since ``before`` (two runs can share a second, so the
    key's time does not order them)."""
    (key,) = _reports() - before
    report: dict[str, Any] = read_json(key)
    return {i["ami_id"]: i["outcome"] for i in report["items"] if i["outcome"] != "skipped"}


def test_a_held_point_is_skipped_by_plan_and_archive_unless_included(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin, months=2)
    held, free, hold = _hold_one()

    capsys.readouterr()
    plan_args = [
        "--output",
        "json",
        "plan",
        "--vault",
        VAULT,
        "--bucket",
        "coldvault-archive",
        "--older-than",
        "2",
    ]
    assert run_inprocess(plan_args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [c["ami_id"] for c in plan["candidates"]] == [free]
    (skipped,) = [s for s in plan["skipped"] if s["ami_id"] == held]
    assert skipped["reason"] == "under legal hold"
    assert plan["warnings"] == [], "the holds were read, not guessed"
    assert run_inprocess([*plan_args, "--include-undeletable"]) == 0
    included = json.loads(capsys.readouterr().out)
    assert {c["ami_id"] for c in included["candidates"]} == {held, free}

    assert run_inprocess(archive_args()) == 0
    assert set(manifests()) == {free}
    assert [a.rsplit("/", 1)[1] for a in points()] == [held]
    assert held not in store_task_counts(), "a held point is never even stored"

    # --include-undeletable: archived and verified, the deletion refused by the hold: retained
    before = _reports()
    assert run_inprocess(archive_args("--include-undeletable")) == 1
    assert _outcomes(before) == {held: "retained"}
    deletion = manifests()[held]["deletion"]
    assert deletion["state"] == "pending"
    assert "legal hold" in deletion["reason"]
    assert [a.rsplit("/", 1)[1] for a in points()] == [held]
    assert_invariants(settled=False)

    # the hold is lifted: a plain rerun finishes the deletion of the archived point
    boto3.client("backup").cancel_legal_hold(LegalHoldId=hold, CancelDescription="audit closed")
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    assert manifests()[held]["deletion"]["state"] == "confirmed"
    assert_invariants()

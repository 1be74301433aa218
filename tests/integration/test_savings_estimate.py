"""Deciding which candidates to archive from measured blocks, and the labelled fallback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from coldvault.aws.backup import Backup
from coldvault.aws.ebs import Ebs
from coldvault.aws.ec2 import Ec2
from coldvault.pricing import Prices
from coldvault.sandbox.admin import SandboxAdmin
from coldvault.savings.estimate import EXACT, RANGE, estimate_savings
from tests.support.fleet import run_instance

pytestmark = pytest.mark.integration

VAULT = "estimate-vault"


def points_of(admin: SandboxAdmin, ages: list[float], **profile: float) -> list[Any]:
    ec2 = boto3.client("ec2")
    instance = run_instance(ec2, [("/dev/sda1", 8, False), ("/dev/sdf", 50, False)])
    admin.update_settings(ebs_instance_profiles={instance: {"allocated_fraction": 0.5, **profile}})
    for age in ages:
        admin.create_recovery_point(vault_name=VAULT, instance_id=instance, age_days=age, create_vault=True)
    backup = Backup(boto3.client("backup"))
    return sorted(backup.iter_recovery_points(VAULT), key=lambda p: p.creation_date)


def run(admin: SandboxAdmin, candidates: list[Any], **kwargs: Any) -> Any:
    return estimate_savings(
        candidates,
        backup=Backup(boto3.client("backup")),
        ec2=Ec2(boto3.client("ec2")),
        ebs=Ebs(boto3.client("ebs")),
        vault=VAULT,
        storage_class="DEEP_ARCHIVE",
        prices=Prices(),
        now=datetime.fromisoformat(admin.clock()["now"]),
        **kwargs,
    )


def test_daily_middle_points_are_kept_and_the_monthly_one_is_archived(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    points = points_of(admin, [70, 40, 39, 38, 1], daily_change_rate=0.005, hot_share=0.0)
    monthly, day1, day2, day3, _recent = points
    savings = run(admin, [monthly, day1, day2, day3], retain_days=365)
    decided = {c.point.ami_id: c for c in savings.candidates}
    assert savings.method == EXACT
    assert savings.ebs_calls > 0
    assert savings.ebs_cost_usd == pytest.approx(savings.ebs_calls * 0.0006 / 1000)
    assert decided[monthly.ami_id].archive, decided[monthly.ami_id].reason
    for middle in (day1, day2):
        assert not decided[middle.ami_id].archive
        assert (
            "never pays" in decided[middle.ami_id].reason
            or "more than keeping" in decided[middle.ami_id].reason
        )
    assert decided[monthly.ami_id].assessment.break_even_days is not None
    # Deleting what is chosen frees exactly that set's blocks; all candidates would free more.
    assert 0 < savings.freed_selected_bytes <= savings.freed_all_bytes


def test_without_only_if_saves_every_candidate_is_archived_with_its_figures(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    points = points_of(admin, [40, 39, 1], daily_change_rate=0.005, hot_share=0.0)
    savings = run(admin, points[:2], only_if_saves=False, retain_days=365)
    assert all(c.archive for c in savings.candidates)
    assert any(c.reason.startswith("archived although") for c in savings.candidates)


def test_denied_ebs_direct_apis_fall_back_to_a_labelled_range(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    points = points_of(admin, [40, 39, 1])
    admin.add_fault("ListSnapshotBlocks", "access_denied")
    savings = run(admin, points[:2], retain_days=365)
    assert savings.method == RANGE
    assert "AccessDenied" in savings.fallback_reason
    for candidate in savings.candidates:
        assert candidate.method == RANGE
        assert candidate.freed_bytes is None
        assert "between nothing and its whole size" in candidate.reason

"""Measuring recovery points' blocks over the sandbox's EBS direct APIs with real boto3."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from coldvault.aws.ebs import Ebs
from coldvault.sandbox.admin import SandboxAdmin
from coldvault.savings.lineage import BlocksUnavailable, LineagePoint, measure_instance
from tests.support.fleet import run_instance

pytestmark = pytest.mark.integration

VAULT = "savings-vault"
MIB = 1024 * 1024


def instance_points(admin: SandboxAdmin, ec2: Any, ages: list[float], **profile: float) -> list[LineagePoint]:
    instance = run_instance(ec2, [("/dev/sda1", 8, False), ("/dev/sdf", 4, False)])
    admin.update_settings(ebs_instance_profiles={instance: {"allocated_fraction": 0.5, **profile}})
    points = []
    for age in ages:
        point = admin.create_recovery_point(
            vault_name=VAULT, instance_id=instance, age_days=age, create_vault=True
        )
        image = ec2.describe_images(ImageIds=[point["ImageId"]])["Images"][0]
        points.append(
            LineagePoint(
                ami_id=image["ImageId"],
                created=datetime.fromisoformat(point["CreationDate"]),
                snapshots={m["DeviceName"]: m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]},
            )
        )
    return points


def test_a_middle_daily_point_of_a_scattered_writer_frees_almost_nothing(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    ec2 = boto3.client("ec2")
    points = instance_points(admin, ec2, [40, 10, 9, 8], daily_change_rate=0.01, hot_share=0.0)
    monthly, day1, day2, _kept = points
    measured = measure_instance(Ebs(boto3.client("ebs")), points, [monthly.ami_id, day1.ami_id, day2.ami_id])
    middle = measured.points[day2.ami_id]
    # A day's writes on 12 GiB at 1 % of the allocated half: ~60 MiB, almost none rewritten next day.
    assert middle.freed_bytes < 2 * MIB
    assert middle.held_bytes > 5 * 1024 * MIB  # yet the archive is a full copy of ~6 GiB
    # The oldest point held blocks its successor (30 days later) rewrote: ~30 % of its writes are its own.
    assert measured.points[monthly.ami_id].freed_bytes > 100 * MIB
    # Deleting all three frees more than each alone: the newest kept point needs only its own versions.
    alone = sum(p.freed_bytes for p in measured.points.values())
    assert measured.freed_together(measured.points) > alone
    # Two devices, four points: one ListSnapshotBlocks and three ListChangedBlocks each, one page each
    # (the root volume's 8,192 allocated blocks fit one 10,000-block page).
    assert measured.calls == 8


def test_the_newest_candidate_frees_what_no_later_point_keeps(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    ec2 = boto3.client("ec2")
    points = instance_points(admin, ec2, [3, 2], daily_change_rate=0.02, hot_share=0.5)
    older, newest = points
    measured = measure_instance(Ebs(boto3.client("ebs")), points, [newest.ami_id])
    assert measured.points[newest.ami_id].freed_bytes > 0
    assert measured.points[newest.ami_id].freed_bytes == measured.freed_together([newest.ami_id])
    assert older.ami_id not in measured.points


def test_denied_ebs_direct_apis_are_reported_not_raised_as_aws_errors(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    ec2 = boto3.client("ec2")
    points = instance_points(admin, ec2, [3, 2])
    admin.add_fault("ListSnapshotBlocks", "access_denied")
    with pytest.raises(BlocksUnavailable, match="ListSnapshotBlocks"):
        measure_instance(Ebs(boto3.client("ebs")), points, [points[0].ami_id])

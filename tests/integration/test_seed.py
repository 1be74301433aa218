"""Seeding a realistic fleet into the sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.seed import seed_bulk, seed_fleet

pytestmark = pytest.mark.integration
GIB = 1024**3


def all_points(vault: str) -> list[dict[str, object]]:
    paginator = boto3.client("backup").get_paginator("list_recovery_points_by_backup_vault")
    return [p for page in paginator.paginate(BackupVaultName=vault) for p in page["RecoveryPoints"]]


def test_seeded_fleet_is_realistic(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    summary = admin.seed(instances=5, daily_days=10, monthly_months=4, seed=7)
    assert summary["recovery_points"] == 5 * 14 + 3 + 1
    points = all_points(summary["vault_name"])
    assert len(points) == summary["recovery_points"]
    statuses = {p["Status"] for p in points}
    assert {"COMPLETED", "PARTIAL", "EXPIRED", "CREATING"} <= statuses
    assert {p["ResourceType"] for p in points} == {"EC2", "EBS"}
    now = datetime.now(UTC)
    ages = sorted((now - p["CreationDate"]).days for p in points)  # type: ignore[operator]
    assert ages[0] <= 1
    assert ages[-1] >= 100
    ec2 = boto3.client("ec2")
    reservations = ec2.describe_instances(InstanceIds=summary["instance_ids"])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 5
    for instance in instances:
        tags = {t["Key"] for t in instance["Tags"]}
        assert {"Name", "team", "env"} <= tags
    volumes = ec2.describe_volumes()["Volumes"]
    assert all(8 <= v["Size"] <= 500 for v in volumes)
    ec2_points = [p for p in points if p["ResourceType"] == "EC2" and p["Status"] == "COMPLETED"]
    images = ec2.describe_images(
        ImageIds=[str(p["RecoveryPointArn"]).rsplit("/", 1)[1] for p in ec2_points[:5]]
    )
    assert len(images["Images"]) == 5
    assert boto3.client("backup").describe_backup_vault(BackupVaultName=summary["vault_name"])[
        "NumberOfRecoveryPoints"
    ] == len(points)


def test_seed_is_deterministic(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    def shape() -> list[tuple[str, int]]:
        points = all_points("coldvault-demo")
        return sorted((str(p.get("ResourceName")), int(str(p["BackupSizeInBytes"]))) for p in points)

    admin.seed(instances=4, seed=3)
    first = shape()
    admin.reset()
    admin.seed(instances=4, seed=3)
    assert shape() == first
    admin.reset()
    admin.seed(instances=4, seed=4)
    assert shape() != first


def test_seed_with_vault_lock(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    admin.seed(
        instances=1,
        daily_days=1,
        monthly_months=0,
        unusable=False,
        ebs_point=False,
        lock_min_retention_days=30,
    )
    vault = boto3.client("backup").describe_backup_vault(BackupVaultName="coldvault-demo")
    assert vault["Locked"] is True
    assert vault["MinRetentionDays"] == 30


def test_seeding_200_points_is_fast(sandbox: object) -> None:
    started = time.monotonic()
    summary = seed_fleet(instances=10, daily_days=14, monthly_months=6, seed=1)
    assert summary["recovery_points"] >= 200
    assert time.monotonic() - started < 5


def test_bulk_seed_of_20000_points(aws_env: dict[str, str]) -> None:
    started = time.monotonic()
    seed_bulk(points=20_000, vault_name="bulk")
    assert time.monotonic() - started < 10
    backup = boto3.client("backup")
    assert backup.describe_backup_vault(BackupVaultName="bulk")["NumberOfRecoveryPoints"] == 20_000
    page = backup.list_recovery_points_by_backup_vault(
        BackupVaultName="bulk", MaxResults=100, ByCreatedAfter=datetime.now(UTC) - timedelta(days=30)
    )
    assert 0 < len(page["RecoveryPoints"]) <= 100

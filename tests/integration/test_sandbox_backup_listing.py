"""ListRecoveryPointsByBackupVault in the sandbox: every filter of the model, and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin

pytestmark = pytest.mark.integration


@pytest.fixture
def vault(aws_env: dict[str, str], admin: SandboxAdmin) -> dict[str, dict[str, str]]:
    boto3.client("backup").create_backup_vault(BackupVaultName="main")
    arn_a = "arn:aws:ec2:us-east-1:123456789012:instance/i-0aaaaaaaaaaaaaaaa"
    arn_b = "arn:aws:ec2:us-east-1:123456789012:instance/i-0bbbbbbbbbbbbbbbb"
    return {
        "a_old": admin.create_recovery_point(
            vault_name="main", resource_arn=arn_a, age_days=40, backup_plan_id="p1"
        ),
        "a_new": admin.create_recovery_point(
            vault_name="main", resource_arn=arn_a, age_days=2, backup_plan_id="p1"
        ),
        "b_mid": admin.create_recovery_point(
            vault_name="main", resource_arn=arn_b, age_days=10, backup_plan_id="p2"
        ),
        "ebs": admin.create_recovery_point(vault_name="main", resource_type="EBS", age_days=5),
    }


def arns(**kwargs: object) -> set[str]:
    backup = boto3.client("backup")
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="main", **kwargs)["RecoveryPoints"]
    return {p["RecoveryPointArn"] for p in points}


def test_every_filter(vault: dict[str, dict[str, str]]) -> None:
    arn = {name: p["RecoveryPointArn"] for name, p in vault.items()}
    assert arns() == set(arn.values())
    assert arns(ByResourceArn=vault["a_old"]["ResourceArn"]) == {arn["a_old"], arn["a_new"]}
    assert arns(ByResourceType="EC2") == {arn["a_old"], arn["a_new"], arn["b_mid"]}
    assert arns(ByResourceType="EBS") == {arn["ebs"]}
    assert arns(ByBackupPlanId="p2") == {arn["b_mid"]}
    now = datetime.now(UTC)
    assert arns(ByCreatedBefore=now - timedelta(days=7)) == {arn["a_old"], arn["b_mid"]}
    assert arns(ByCreatedAfter=now - timedelta(days=7)) == {arn["a_new"], arn["ebs"]}
    assert arns(ByCreatedAfter=now - timedelta(days=20), ByCreatedBefore=now - timedelta(days=3)) == {
        arn["b_mid"],
        arn["ebs"],
    }
    assert arns(ByParentRecoveryPointArn=arn["a_old"]) == set()
    assert arns(BackupVaultAccountId="123456789012") == set(arn.values())
    with pytest.raises(ClientError) as other_account:
        arns(BackupVaultAccountId="999999999999")
    assert other_account.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_points_are_listed_newest_first(vault: dict[str, dict[str, str]]) -> None:
    points = boto3.client("backup").list_recovery_points_by_backup_vault(BackupVaultName="main")[
        "RecoveryPoints"
    ]
    dates = [p["CreationDate"] for p in points]
    assert dates == sorted(dates, reverse=True)


def test_pagination_with_tokens_and_paginator(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    backup.create_backup_vault(BackupVaultName="main")
    created = {
        admin.create_recovery_point(vault_name="main", age_days=i)["RecoveryPointArn"] for i in range(25)
    }
    page = backup.list_recovery_points_by_backup_vault(BackupVaultName="main", MaxResults=10)
    seen = [p["RecoveryPointArn"] for p in page["RecoveryPoints"]]
    pages = 1
    while "NextToken" in page:
        page = backup.list_recovery_points_by_backup_vault(
            BackupVaultName="main", MaxResults=10, NextToken=page["NextToken"]
        )
        seen += [p["RecoveryPointArn"] for p in page["RecoveryPoints"]]
        pages += 1
    assert pages == 3
    assert len(seen) == 25
    assert set(seen) == created
    paginator = backup.get_paginator("list_recovery_points_by_backup_vault")
    listed = [
        p["RecoveryPointArn"]
        for page in paginator.paginate(BackupVaultName="main", PaginationConfig={"PageSize": 7})
        for p in page["RecoveryPoints"]
    ]
    assert listed == seen


@pytest.mark.parametrize("bad", [{"MaxResults": 1001}, {"NextToken": "not-a-token"}])
def test_bad_pagination_input(aws_env: dict[str, str], bad: dict[str, object]) -> None:
    backup = boto3.client("backup")
    backup.create_backup_vault(BackupVaultName="main")
    with pytest.raises(ClientError) as refused:
        backup.list_recovery_points_by_backup_vault(BackupVaultName="main", **bad)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_unknown_vault(aws_env: dict[str, str]) -> None:
    with pytest.raises(ClientError) as missing:
        boto3.client("backup").list_recovery_points_by_backup_vault(BackupVaultName="nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

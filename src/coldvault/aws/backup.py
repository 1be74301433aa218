"""AWS Backup: the recovery points of a vault (IAM actions declared per method)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions
from coldvault.errors import NotFound
from coldvault.models import RecoveryPoint

if TYPE_CHECKING:
    from mypy_boto3_backup import BackupClient


@dataclass(frozen=True)
class VaultInfo:
    name: str
    arn: str
    locked: bool
    min_retention_days: int | None
    number_of_recovery_points: int


def point_from_api(item: Mapping[str, Any], vault_name: str) -> RecoveryPoint:
    lifecycle = item.get("CalculatedLifecycle") or {}
    return RecoveryPoint(
        arn=item["RecoveryPointArn"],
        vault_name=item.get("BackupVaultName", vault_name),
        resource_arn=item.get("ResourceArn", ""),
        resource_type=item.get("ResourceType", ""),
        status=item.get("Status", ""),
        creation_date=item["CreationDate"],
        backup_size_bytes=int(item.get("BackupSizeInBytes") or 0),
        completion_date=item.get("CompletionDate"),
        delete_at=lifecycle.get("DeleteAt"),
        move_to_cold_storage_at=lifecycle.get("MoveToColdStorageAt"),
        status_message=item.get("StatusMessage", ""),
        iam_role_arn=item.get("IamRoleArn", ""),
        backup_plan_id=(item.get("CreatedBy") or {}).get("BackupPlanId", ""),
        is_encrypted=bool(item.get("IsEncrypted", False)),
    )


def tags_listable(arn: str) -> bool:
    """Whether ``ListTags`` answers for this recovery point: AWS says it may fail for any ARN not
    beginning ``arn:aws:backup`` (ListTags, AWS Backup API reference), which is every EC2 point's
    (the AMI's ARN). An EC2 point's tags are its AMI's, read with ``DescribeImages``."""
    parts = arn.split(":")
    return len(parts) > 2 and parts[2] == "backup"


class Backup:
    """Thin adapter over a boto3 ``backup`` client."""

    def __init__(self, client: BackupClient) -> None:
        self.client = client

    @permissions("backup:DescribeBackupVault")
    def describe_vault(self, name: str) -> VaultInfo:
        """The vault's ARN, lock and retention, and how many recovery points it holds."""
        with aws_call("DescribeBackupVault"):
            r = self.client.describe_backup_vault(BackupVaultName=name)
        return VaultInfo(
            name=r["BackupVaultName"],
            arn=r.get("BackupVaultArn", ""),
            locked=bool(r.get("Locked", False)),
            min_retention_days=r.get("MinRetentionDays"),
            number_of_recovery_points=int(r.get("NumberOfRecoveryPoints") or 0),
        )

    @permissions("backup:ListRecoveryPointsByBackupVault")
    def iter_recovery_points(
        self,
        vault: str,
        *,
        created_before: datetime | None = None,
        resource_arn: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[RecoveryPoint]:
        """The vault's recovery points, streamed page by page (of one resource, if given)."""
        kwargs: dict[str, Any] = {"BackupVaultName": vault, "PaginationConfig": {"PageSize": page_size}}
        if created_before is not None:
            kwargs["ByCreatedBefore"] = created_before
        if resource_arn is not None:
            kwargs["ByResourceArn"] = resource_arn
        paginator = self.client.get_paginator("list_recovery_points_by_backup_vault")
        with aws_call("ListRecoveryPointsByBackupVault"):
            for page in paginator.paginate(**kwargs):
                for item in page.get("RecoveryPoints", []):
                    yield point_from_api(item, vault)

    @permissions("backup:DescribeRecoveryPoint")
    def describe_recovery_point(self, vault: str, arn: str) -> RecoveryPoint | None:
        """One recovery point; None when it does not exist."""
        try:
            with aws_call("DescribeRecoveryPoint"):
                r = self.client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
        except NotFound:
            return None
        return point_from_api(r, vault)

    @permissions("backup:DeleteRecoveryPoint")
    def delete_recovery_point(self, vault: str, arn: str) -> None:
        """Delete a recovery point (may answer 200 without deleting: confirm with a describe)."""
        with aws_call("DeleteRecoveryPoint"):
            self.client.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)

    @permissions("backup:ListTags")
    def list_tags(self, arn: str) -> dict[str, str]:
        """``backup:ListTags`` of a recovery point whose ARN is AWS Backup's (:func:`tags_listable`)."""
        if not tags_listable(arn):
            raise ValueError(f"ListTags may fail for {arn}: read the resource's own tags")
        tags: dict[str, str] = {}
        kwargs: dict[str, Any] = {"ResourceArn": arn}
        while True:
            with aws_call("ListTags"):
                r = self.client.list_tags(**kwargs)
            tags.update(r.get("Tags") or {})
            if not r.get("NextToken"):
                return tags
            kwargs["NextToken"] = r["NextToken"]

    @permissions("backup:ListLegalHolds", "backup:ListRecoveryPointsByLegalHold")
    def legal_hold_points(self, vault_arn: str) -> set[str]:
        """Recovery point ARNs of the vault under a legal hold (every hold, then each hold's points).

        Every hold not ``CANCELED`` counts: one still ``CREATING`` (or ``CANCELING``) already keeps
        its points, and skipping a point wrongly is safe where trying to delete it is not.
        """
        vault_name = vault_arn.rsplit(":", 1)[-1]
        held: set[str] = set()
        holds: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            with aws_call("ListLegalHolds"):
                r = self.client.list_legal_holds(**kwargs)
            holds.extend(h["LegalHoldId"] for h in r.get("LegalHolds", []) if h.get("Status") != "CANCELED")
            if not r.get("NextToken"):
                break
            kwargs["NextToken"] = r["NextToken"]
        for hold in holds:
            kwargs = {"LegalHoldId": hold}
            while True:
                with aws_call("ListRecoveryPointsByLegalHold"):
                    page = self.client.list_recovery_points_by_legal_hold(**kwargs)
                for item in page.get("RecoveryPoints", []):
                    if not vault_arn or item.get("BackupVaultName") in ("", None, vault_name):
                        held.add(item["RecoveryPointArn"])
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        return held

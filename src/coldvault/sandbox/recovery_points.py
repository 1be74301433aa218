"""Admin-side operations on recovery points: create one directly, backdate it, change its status
or lifecycle, summarise the store. AWS has no API for these; tests and seeding use them through
the admin API (:mod:`coldvault.sandbox.admin`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.backup.models import backup_backends
from moto.ec2.utils import random_ami_id, random_snapshot_id

from coldvault.sandbox import backup_models as models
from coldvault.sandbox.backup_amis import instance_volumes, register_backup_ami
from coldvault.sandbox.state import STATE

GIB = 1024**3


class SandboxResourceError(Exception):
    """An admin request names something that does not exist or is not allowed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def backend_for(account: str, region: str) -> Any:
    return backup_backends[account][region]


def to_datetime(value: datetime | str | None, age_days: float | None = None) -> datetime:
    if value is None:
        now = STATE.clock.now()
        return now - timedelta(days=age_days) if age_days is not None else now
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def public(point: models.RecoveryPoint) -> dict[str, Any]:
    """A recovery point as JSON-friendly values (timestamps in ISO 8601)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in point.to_dict().items()} | {
        "ImageId": point.image_id,
        "Tags": dict(point.tags),
    }


def create_recovery_point(
    *,
    creation_date: datetime | str | None = None,
    age_days: float | None = None,
    account: str = "123456789012",
    region: str = "us-east-1",
    **fields: Any,
) -> dict[str, Any]:
    """:func:`insert_point` for the admin API: the creation date as ISO 8601 or ``age_days`` ago (now
    when neither is given), the account and Region by name, the point as JSON-friendly values."""
    return public(
        insert_point(
            backend_for(account, region), creation_date=to_datetime(creation_date, age_days), **fields
        )
    )


def insert_point(
    backend: Any,
    *,
    vault_name: str,
    creation_date: datetime,
    instance_id: str | None = None,
    resource_arn: str | None = None,
    resource_type: str = "EC2",
    status: str = "COMPLETED",
    status_message: str | None = None,
    volume_sizes_gib: list[int] | None = None,
    tags: dict[str, str] | None = None,
    lifecycle: dict[str, Any] | None = None,
    backup_plan_id: str | None = None,
    create_vault: bool = False,
    with_ami: bool = True,
    copy_tags: bool = True,
) -> models.RecoveryPoint:
    """Put a recovery point straight into a vault, with its AMI and snapshots for EC2 (unless
    ``with_ami`` is false, for bulk benchmarks, or the point is still ``CREATING``). With
    ``instance_id``, the instance's volumes give the size and, if ``copy_tags``, its tags are
    copied (``tags`` win), as AWS Backup does."""
    if status not in models.RECOVERY_POINT_STATUSES:
        raise SandboxResourceError(
            f"status {status!r} is not one of {', '.join(models.RECOVERY_POINT_STATUSES)}"
        )
    if resource_type not in ("EC2", "EBS"):
        raise SandboxResourceError("resource_type must be EC2 or EBS")
    if vault_name not in backend.vaults:
        if not create_vault:
            raise SandboxResourceError(f"backup vault {vault_name!r} does not exist", 404)
        backend.create_backup_vault(vault_name, {}, None, None)
    vault = backend.vaults[vault_name]
    ec2 = models.ec2_for(backend)
    region, account = backend.region_name, backend.account_id
    instance = None
    all_tags = dict(tags or {})
    if instance_id is not None:
        try:
            instance = ec2.get_instance(instance_id)
        except Exception as exc:  # moto's InvalidInstanceIdError
            raise SandboxResourceError(f"instance {instance_id} does not exist", 404) from exc
        volumes = instance_volumes(ec2, instance)
        instance_tags = {
            t["key"]: t["value"] for t in ec2.describe_tags(filters={"resource-id": [instance_id]})
        }
        all_tags = {**instance_tags, **all_tags} if copy_tags else all_tags
    else:
        instance_id = "i-" + uuid.uuid4().hex[:17]
        volumes = [(f"/dev/xvd{chr(97 + i)}", size, False) for i, size in enumerate(volume_sizes_gib or [8])]
    if volume_sizes_gib is not None and instance is not None:
        volumes = [(d, s, e) for (d, _, e), s in zip(volumes, volume_sizes_gib, strict=False)]
    size_bytes = sum(v[1] for v in volumes) * GIB
    resource_name = all_tags.get("Name")
    created_by = {}
    if backup_plan_id:
        created_by = {
            "BackupPlanId": backup_plan_id,
            "BackupPlanArn": f"arn:aws:backup:{region}:{account}:backup-plan:{backup_plan_id}",
            "BackupPlanVersion": "ZmY2ZDVkN2EtYzYxYy00ZTJiLWI2OGItZDcyNzcyMmRjNDg3",
            "BackupRuleId": "b1c5e2a3-7d4f-4b8e-9a6c-0f1e2d3c4b5a",
        }
    if resource_type == "EC2":
        image_id = random_ami_id()
        arn = models.image_arn(region, image_id)
        source_arn = resource_arn or f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"
        all_tags["aws:backup:source-resource"] = instance_id
    else:
        image_id = None
        arn = f"arn:aws:ec2:{region}::snapshot/{random_snapshot_id()}"
        source_arn = resource_arn or f"arn:aws:ec2:{region}:{account}:volume/vol-{uuid.uuid4().hex[:17]}"
        size_bytes = volumes[0][1] * GIB
    point = models.RecoveryPoint(
        arn=arn,
        vault_name=vault_name,
        vault_arn=vault.backup_vault_arn,
        resource_arn=source_arn,
        resource_type=resource_type,
        creation_date=creation_date,
        size_bytes=0 if status == "CREATING" else size_bytes,
        status=status,
        status_message=status_message,
        completion_date=None if status == "CREATING" else creation_date + timedelta(minutes=20),
        resource_name=resource_name,
        iam_role_arn=f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
        created_by=created_by,
        lifecycle=dict(lifecycle or {}),
        is_encrypted=any(v[2] for v in volumes),
        image_id=image_id,
        tags=all_tags,
    )
    if image_id and with_ami and status != "CREATING":
        register_backup_ami(
            ec2,
            image_id,
            name=f"AwsBackup_{instance_id}_{uuid.uuid4()}",
            volumes=volumes,
            instance=instance,
            tags=all_tags,
            creation_date=creation_date.astimezone(UTC).replace(tzinfo=None),
        )
    return models.add_point(backend, point)


def _find(vault_name: str, arn: str, account: str, region: str) -> models.RecoveryPoint:
    backend = backend_for(account, region)
    point = models.store_for(backend).points.get(vault_name, {}).get(arn)
    if point is None:
        raise SandboxResourceError(f"no recovery point {arn} in vault {vault_name!r}", 404)
    return point


def backdate(
    *,
    vault_name: str,
    arn: str,
    creation_date: datetime | str | None = None,
    age_days: float | None = None,
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """Move a recovery point's creation (and completion) date, and its AMI's, into the past."""
    if creation_date is None and age_days is None:
        raise SandboxResourceError("give creation_date or age_days")
    point = _find(vault_name, arn, account, region)
    when = to_datetime(creation_date, age_days)
    shift = when - point.creation_date
    point.creation_date = when
    if point.completion_date is not None:
        point.completion_date += shift
    ami = models.ec2_for(backend_for(account, region)).amis.get(point.image_id or "")
    if ami is not None:
        ami.creation_date = when.astimezone(UTC).replace(tzinfo=None)
    return public(point)


def set_status(
    *,
    vault_name: str,
    arn: str,
    status: str,
    status_message: str | None = None,
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    if status not in models.RECOVERY_POINT_STATUSES:
        raise SandboxResourceError(
            f"status {status!r} is not one of {', '.join(models.RECOVERY_POINT_STATUSES)}"
        )
    point = _find(vault_name, arn, account, region)
    point.status = status
    point.status_message = status_message
    return public(point)


def set_lifecycle(
    *,
    vault_name: str,
    arn: str,
    lifecycle: dict[str, Any],
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    known = {"MoveToColdStorageAfterDays", "DeleteAfterDays", "OptInToArchiveForSupportedResources"}
    unknown = set(lifecycle) - known
    if unknown:
        raise SandboxResourceError(f"unknown lifecycle members {sorted(unknown)}; known: {sorted(known)}")
    point = _find(vault_name, arn, account, region)
    point.lifecycle = dict(lifecycle)
    return public(point)


def summary(account: str, region: str) -> dict[str, Any]:
    backend = backend_for(account, region)
    models.refresh_jobs(backend)
    store = models.store_for(backend)
    vaults: dict[str, dict[str, int]] = {}
    for name in backend.vaults:
        counts: dict[str, int] = {}
        for point in store.points.get(name, {}).values():
            counts[point.status] = counts.get(point.status, 0) + 1
        vaults[name] = counts
    ec2 = models.ec2_for(backend)
    return {
        "account": account,
        "region": region,
        "vaults": vaults,
        "backup_jobs": len(store.jobs),
        "instances": sum(len(r.instances) for r in ec2.reservations.values()),
    }

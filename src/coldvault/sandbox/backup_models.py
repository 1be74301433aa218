"""AWS Backup recovery points and backup jobs, kept inside moto's Backup backend.

The store hangs off each ``BackupBackend`` object (one per account and Region), so moto's reset
clears it with the backend. Jobs progress lazily: their state is computed from the sandbox's
virtual clock whenever they (or the vault's recovery points) are read, and a job that has reached
the end registers its AMI in moto's EC2 backend at that moment. Times are timezone-aware UTC.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.utils import random_ami_id

from coldvault.sandbox.backup_amis import delete_backup_ami, instance_volumes, register_backup_ami
from coldvault.sandbox.errors import (
    InvalidParameterValueException,
    InvalidRequestException,
    InvalidResourceStateException,
    ResourceNotFoundException,
    fault_error,
)
from coldvault.sandbox.state import STATE

GIB = 1024**3
CREATED_FOR_SECONDS = 1.0  # virtual seconds a job stays CREATED before RUNNING (if not done by then)
USABLE = ("COMPLETED", "AVAILABLE")
RECOVERY_POINT_STATUSES = ("COMPLETED", "PARTIAL", "DELETING", "EXPIRED", "AVAILABLE", "STOPPED", "CREATING")


@dataclass
class RecoveryPoint:
    arn: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    creation_date: datetime
    size_bytes: int
    status: str = "COMPLETED"
    status_message: str | None = None
    completion_date: datetime | None = None
    resource_name: str | None = None
    iam_role_arn: str = ""
    created_by: dict[str, str] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    encryption_key_arn: str | None = None
    is_encrypted: bool = False
    parent_arn: str | None = None
    image_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def calculated_lifecycle(self) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        if "MoveToColdStorageAfterDays" in self.lifecycle:
            out["MoveToColdStorageAt"] = self.creation_date + timedelta(
                days=int(self.lifecycle["MoveToColdStorageAfterDays"])
            )
        if "DeleteAfterDays" in self.lifecycle:
            out["DeleteAt"] = self.creation_date + timedelta(days=int(self.lifecycle["DeleteAfterDays"]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The members DescribeRecoveryPoint and ListRecoveryPointsByBackupVault share."""
        out: dict[str, Any] = {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "Status": self.status,
            "CreationDate": self.creation_date,
            "InitiationDate": self.creation_date,
            "BackupSizeInBytes": self.size_bytes,
            "IsEncrypted": self.is_encrypted,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
            "EncryptionKeyType": "AWS_OWNED_KMS_KEY",
        }
        optional = {
            "StatusMessage": self.status_message,
            "CompletionDate": self.completion_date,
            "ResourceName": self.resource_name,
            "IamRoleArn": self.iam_role_arn or None,
            "CreatedBy": self.created_by or None,
            "Lifecycle": self.lifecycle or None,
            "CalculatedLifecycle": self.calculated_lifecycle() or None,
            "EncryptionKeyArn": self.encryption_key_arn,
            "ParentRecoveryPointArn": self.parent_arn,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    def describe(self) -> dict[str, Any]:
        return {**self.to_dict(), "StorageClass": "WARM"}


@dataclass
class BackupJob:
    job_id: str
    account_id: str
    vault_name: str
    vault_arn: str
    recovery_point_arn: str
    resource_arn: str
    resource_type: str
    resource_name: str | None
    iam_role_arn: str
    creation_date: datetime
    total_bytes: int
    volumes: list[tuple[str, int, bool]]
    instance_id: str
    state: str = "CREATED"
    percent_done: int = 0
    completion_date: datetime | None = None
    backup_options: dict[str, str] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    message_category: str = "SUCCESS"

    def to_dict(self) -> dict[str, Any]:
        bytes_done = self.total_bytes * self.percent_done // 100
        out: dict[str, Any] = {
            "AccountId": self.account_id,
            "BackupJobId": self.job_id,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "VaultType": "BACKUP_VAULT",
            "RecoveryPointArn": self.recovery_point_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "CreationDate": self.creation_date,
            "State": self.state,
            "PercentDone": str(self.percent_done),
            "BackupSizeInBytes": self.total_bytes if self.state == "COMPLETED" else bytes_done,
            "BytesTransferred": bytes_done,
            "IamRoleArn": self.iam_role_arn,
            "StartBy": self.creation_date + timedelta(hours=8),
            "BackupType": "",
            "IsParent": False,
            "InitiationDate": self.creation_date,
            "MessageCategory": self.message_category,
            "IsEncrypted": any(v[2] for v in self.volumes),
        }
        if self.backup_options:
            out["BackupOptions"] = self.backup_options
        if self.lifecycle:
            out["RecoveryPointLifecycle"] = self.lifecycle
        if self.resource_name:
            out["ResourceName"] = self.resource_name
        if self.completion_date is not None:
            out["CompletionDate"] = self.completion_date
        else:
            rate = max(STATE.settings.backup_bytes_per_second, 1.0)
            out["ExpectedCompletionDate"] = self.creation_date + timedelta(seconds=self.total_bytes / rate)
        return out


class BackupStore:
    """Recovery points per vault (insertion ordered) and backup jobs, for one backend."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.points: dict[str, dict[str, RecoveryPoint]] = {}
        self.jobs: dict[str, BackupJob] = {}


def store_for(backend: Any) -> BackupStore:
    store = backend.__dict__.get("_coldvault_store")
    if store is None:
        store = backend.__dict__.setdefault("_coldvault_store", BackupStore())
    return store  # type: ignore[no-any-return]


def ec2_for(backend: Any) -> Any:
    return ec2_backends[backend.account_id][backend.region_name]


def check_fault(operation: str, *resources: str) -> None:
    """Raise the error of an armed ``throttle``/``access_denied``/``error`` fault for the call."""
    fault = STATE.faults.take(operation, *resources, kinds=("throttle", "access_denied", "error"))
    if fault is None:
        return
    raise fault_error(fault.kind, operation, code=fault.code, reason=fault.reason, status=fault.status)


def vault_or_raise(backend: Any, vault_name: str) -> Any:
    vault = backend.vaults.get(vault_name)
    if vault is None:
        raise ResourceNotFoundException(f"Backup vault {vault_name} is not found")
    return vault


def _sync_count(backend: Any, vault_name: str) -> None:
    vault = backend.vaults.get(vault_name)
    if vault is not None:
        vault.num_of_recovery_points = len(store_for(backend).points.get(vault_name, {}))


def add_point(backend: Any, point: RecoveryPoint) -> RecoveryPoint:
    store = store_for(backend)
    with store.lock:
        store.points.setdefault(point.vault_name, {})[point.arn] = point
        _sync_count(backend, point.vault_name)
    return point


def find_point(backend: Any, vault_name: str, arn: str) -> RecoveryPoint:
    vault_or_raise(backend, vault_name)
    refresh_jobs(backend)
    point = store_for(backend).points.get(vault_name, {}).get(arn)
    if point is None:
        raise ResourceNotFoundException(f"Recovery point {arn} not found in backup vault {vault_name}")
    return point


def point_by_arn(backend: Any, arn: str) -> RecoveryPoint | None:
    for points in store_for(backend).points.values():
        if arn in points:
            return points[arn]
    return None


def image_arn(region: str, image_id: str) -> str:
    return f"arn:aws:ec2:{region}::image/{image_id}"


def parse_instance_arn(arn: str) -> tuple[str, str]:
    """(region, instance id) of an EC2 instance ARN, or InvalidParameterValueException."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "ec2" or not parts[5].startswith("instance/i-"):
        raise InvalidParameterValueException(
            f"Invalid ARN: {arn}. Supported resource types for this sandbox: EC2 instances"
        )
    return parts[3], parts[5].split("/", 1)[1]


def start_backup_job(
    backend: Any,
    *,
    vault_name: str,
    resource_arn: str,
    iam_role_arn: str,
    lifecycle: dict[str, Any] | None = None,
    recovery_point_tags: dict[str, str] | None = None,
    backup_options: dict[str, str] | None = None,
) -> BackupJob:
    vault = vault_or_raise(backend, vault_name)
    region, instance_id = parse_instance_arn(resource_arn)
    if region != backend.region_name:
        raise InvalidParameterValueException(
            f"Resource {resource_arn} is not in Region {backend.region_name}"
        )
    ec2 = ec2_for(backend)
    try:
        instance = ec2.get_instance(instance_id)
    except Exception as exc:  # moto's InvalidInstanceIdError
        raise ResourceNotFoundException(f"Resource {resource_arn} not found") from exc
    volumes = instance_volumes(ec2, instance)
    now = STATE.clock.now()
    job_id = str(uuid.uuid4()).upper()
    ami_id = random_ami_id()
    instance_tags = {t["key"]: t["value"] for t in ec2.describe_tags(filters={"resource-id": [instance_id]})}
    tags = {**instance_tags, **(recovery_point_tags or {}), "aws:backup:source-resource": instance_id}
    job = BackupJob(
        job_id=job_id,
        account_id=backend.account_id,
        vault_name=vault_name,
        vault_arn=vault.backup_vault_arn,
        recovery_point_arn=image_arn(region, ami_id),
        resource_arn=resource_arn,
        resource_type="EC2",
        resource_name=instance_tags.get("Name"),
        iam_role_arn=iam_role_arn,
        creation_date=now,
        total_bytes=sum(v[1] for v in volumes) * GIB,
        volumes=volumes,
        instance_id=instance_id,
        backup_options=backup_options or {},
        lifecycle=lifecycle or {},
    )
    point = RecoveryPoint(
        arn=job.recovery_point_arn,
        vault_name=vault_name,
        vault_arn=vault.backup_vault_arn,
        resource_arn=resource_arn,
        resource_type="EC2",
        creation_date=now,
        size_bytes=0,
        status="CREATING",
        resource_name=job.resource_name,
        iam_role_arn=iam_role_arn,
        lifecycle=lifecycle or {},
        is_encrypted=job.to_dict()["IsEncrypted"],
        image_id=ami_id,
        tags=tags,
    )
    store = store_for(backend)
    with store.lock:
        store.jobs[job_id] = job
        add_point(backend, point)
    return job


def refresh_jobs(backend: Any) -> None:
    """Move every unfinished job forward to the virtual clock's present."""
    store = store_for(backend)
    with store.lock:
        pending = [j for j in store.jobs.values() if j.state in ("CREATED", "RUNNING")]
        if not pending:
            return
        now = STATE.clock.now()
        rate = max(STATE.settings.backup_bytes_per_second, 1.0)
        for job in pending:
            elapsed = (now - job.creation_date).total_seconds()
            done = elapsed * rate
            if done >= job.total_bytes:
                _complete(backend, job, job.creation_date + timedelta(seconds=job.total_bytes / rate))
            elif elapsed >= CREATED_FOR_SECONDS:
                job.state = "RUNNING"
                job.percent_done = min(99, int(100 * done / max(job.total_bytes, 1)))


def _complete(backend: Any, job: BackupJob, when: datetime) -> None:
    job.state = "COMPLETED"
    job.percent_done = 100
    job.completion_date = when
    point = store_for(backend).points.get(job.vault_name, {}).get(job.recovery_point_arn)
    if point is None:  # the vault or point went away meanwhile
        return
    ec2 = ec2_for(backend)
    ami_id = point.image_id or job.recovery_point_arn.rsplit("/", 1)[1]
    instance = None
    try:
        instance = ec2.get_instance(job.instance_id)
    except Exception:  # noqa: BLE001 - terminated since: the AMI is still made
        instance = None
    register_backup_ami(
        ec2,
        ami_id,
        name=f"AwsBackup_{job.instance_id}_{uuid.uuid4()}",
        volumes=job.volumes,
        instance=instance,
        tags=point.tags,
        creation_date=when.replace(tzinfo=None),
    )
    point.status = "COMPLETED"
    point.completion_date = when
    point.size_bytes = job.total_bytes


def delete_recovery_point(backend: Any, vault_name: str, arn: str) -> None:
    vault = vault_or_raise(backend, vault_name)
    check_fault("DeleteRecoveryPoint", arn, arn.rsplit("/", 1)[-1])
    point = find_point(backend, vault_name, arn)
    if point.status == "CREATING":
        raise InvalidResourceStateException(
            f"Recovery point {arn} is being created; it can be deleted once its backup job has finished"
        )
    if vault.locked and vault.min_retention_days:
        held_until = point.creation_date + timedelta(days=int(vault.min_retention_days))
        if STATE.clock.now() < held_until:
            raise InvalidRequestException(
                f"Recovery point {arn} cannot be deleted before {held_until.isoformat()}: "
                f"backup vault {vault_name} is locked with a minimum retention of "
                f"{vault.min_retention_days} days"
            )
    fault = STATE.faults.take("DeleteRecoveryPoint", arn, point.image_id or "", kinds=("silent_expire",))
    if fault is not None and fault.kind == "silent_expire":
        point.status = "EXPIRED"
        point.status_message = "Insufficient permissions to delete the recovery point"
        return
    remove_point(backend, point)


def remove_point(backend: Any, point: RecoveryPoint) -> None:
    store = store_for(backend)
    with store.lock:
        store.points.get(point.vault_name, {}).pop(point.arn, None)
        _sync_count(backend, point.vault_name)
    if point.image_id and point.resource_type == "EC2":
        delete_backup_ami(ec2_for(backend), point.image_id)
    elif point.resource_type == "EBS":
        ec2_for(backend).snapshots.pop(point.arn.rsplit("/", 1)[-1], None)


def delete_backup_vault(backend: Any, vault_name: str) -> None:
    """DeleteBackupVault as AWS does it: only an empty vault can be deleted."""
    vault_or_raise(backend, vault_name)
    count = len(store_for(backend).points.get(vault_name, {}))
    if count:
        raise InvalidRequestException(
            f"Backup vault cannot be deleted because it contains recovery points ({count})"
        )
    backend.vaults.pop(vault_name, None)
    store_for(backend).points.pop(vault_name, None)

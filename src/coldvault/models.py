"""The domain's values: frozen dataclasses and enums, no I/O.

These are the contracts between the selection, the archive pipeline, the restore path, the
report and the cloud handlers. Everything that crosses a Step Functions state boundary has a
``to_json``/``from_json`` pair producing plain JSON types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class StorageClass(enum.StrEnum):
    GLACIER_IR = "GLACIER_IR"
    GLACIER = "GLACIER"
    DEEP_ARCHIVE = "DEEP_ARCHIVE"

    @property
    def needs_restore(self) -> bool:
        """Whether the object must be restored (``RestoreObject``) before it can be read."""
        return self is not StorageClass.GLACIER_IR


class Outcome(enum.StrEnum):
    """What happened to one recovery point in one run."""

    ARCHIVED = "archived"  # archive verified, recovery point deletion confirmed
    RETAINED = "retained"  # archive verified, recovery point still in the vault (deletion pending)
    SKIPPED = "skipped"  # not selected (reason given)
    FAILED = "failed"  # something failed before verification: recovery point kept
    LEASED = "leased"  # another run holds this point: left alone


class SkipReason(enum.StrEnum):
    NOT_EC2 = "not an EC2 recovery point"
    NOT_USABLE = "state is not COMPLETED or AVAILABLE"
    TOO_RECENT = "created after the cut-off"
    ALREADY_ARCHIVED = "already archived and its deletion confirmed"
    NOT_STORABLE = "AMI cannot be stored to S3"
    VAULT_LOCK = "Vault Lock minimum retention not over"
    LEGAL_HOLD = "under legal hold"
    NOT_SELECTED = "not the last point of its period (--select)"
    COSTS_MORE = "archiving would cost more than keeping (--only-if-saves)"


@dataclass(frozen=True)
class RecoveryPoint:
    """An EC2 recovery point of a backup vault (an AMI)."""

    arn: str  # arn:aws:ec2:<region>::image/ami-...
    vault_name: str
    resource_arn: str  # arn:aws:ec2:<region>:<account>:instance/i-...
    resource_type: str
    status: str
    creation_date: datetime
    backup_size_bytes: int = 0
    completion_date: datetime | None = None
    delete_at: datetime | None = None  # CalculatedLifecycle.DeleteAt
    move_to_cold_storage_at: datetime | None = None
    status_message: str = ""
    iam_role_arn: str = ""
    backup_plan_id: str = ""
    is_encrypted: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ami_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def instance_id(self) -> str:
        return self.resource_arn.rsplit("/", 1)[-1]

    @property
    def source_account(self) -> str:
        return self.resource_arn.split(":")[4]

    @property
    def source_region(self) -> str:
        return self.resource_arn.split(":")[3]


def to_jsonable(value: Any) -> Any:
    """Turn dataclass field values (datetimes, enums, nested dicts/lists) into plain JSON types."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def point_to_json(point: RecoveryPoint) -> dict[str, Any]:
    return {k: to_jsonable(v) for k, v in point.__dict__.items()}


def point_from_json(data: dict[str, Any]) -> RecoveryPoint:
    values = dict(data)
    for name in ("creation_date", "completion_date", "delete_at", "move_to_cold_storage_at"):
        values[name] = _dt(values.get(name))
    return RecoveryPoint(**values)


class Stage(enum.StrEnum):
    """Where one recovery point is in the archive pipeline (the state machine's Choice reads it)."""

    SELECTED = "selected"  # a candidate, nothing done yet
    STORING = "storing"  # a store image task is in progress
    STORED = "stored"  # the staging object <ami-id>.bin exists
    COPYING = "copying"  # a multipart copy is part way
    COPIED = "copied"  # the archive object exists
    VERIFIED = "verified"  # archive verified, manifest written, staging object deleted
    DONE = "done"  # the outcome is final (archived, retained, failed, leased)


@dataclass(frozen=True)
class PointWork:
    """One recovery point's progress through the pipeline: small, plain JSON (a Step Functions item)."""

    point: RecoveryPoint
    archive_key: str
    manifest_key: str
    stage: Stage = Stage.SELECTED
    run_id: str = ""
    store_state: str = ""
    store_progress: int = 0
    store_started_at: str = ""
    store_completed_at: str = ""  # when the staging object was first seen complete
    next_poll_seconds: float = 0.0
    store_polls: int = 0  # DescribeStoreImageTasks looks at this point's task (bounded per execution)
    staging_size: int = 0
    copy_started_at: str = ""  # ISO time of the first copy call: the copy deadline counts from it
    upload_id: str = ""
    part_size: int = 0
    parts_total: int = 0
    parts_done: int = 0
    archive_size: int = 0
    checksum: str = ""
    lease_etag: str = ""
    outcome: Outcome | None = None
    error: str = ""
    error_type: str = ""
    deletion_pending: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds spent

    @property
    def ami_id(self) -> str:
        return self.point.ami_id

    @property
    def copy_percent(self) -> int:
        if self.stage in (Stage.COPIED, Stage.VERIFIED, Stage.DONE) and not self.error:
            return 100
        return int(100 * self.parts_done / self.parts_total) if self.parts_total else 0

    def to_json(self) -> dict[str, Any]:
        data = {k: to_jsonable(v) for k, v in self.__dict__.items() if k != "point"}
        data["point"] = point_to_json(self.point)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PointWork:
        values = dict(data)
        values["point"] = point_from_json(values["point"])
        values["stage"] = Stage(values.get("stage", Stage.SELECTED))
        values["outcome"] = Outcome(values["outcome"]) if values.get("outcome") else None
        values["timings"] = {str(k): float(v) for k, v in (values.get("timings") or {}).items()}
        return cls(**values)

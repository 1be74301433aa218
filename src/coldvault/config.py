"""coldvault's archive settings: from flags and an SSM Parameter Store path, validated once.

Flags win over SSM parameters, which win over defaults. :data:`SSM_KEYS` is the one mapping between
the CLI flags, the CloudFormation parameters and the SSM keys under the configuration path; the
deployment's template writes exactly these keys (``<path>/<key>``).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from coldvault.errors import ConfigurationError
from coldvault.models import StorageClass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
GB = 1_000_000_000

MAX_PARTS = 10_000
MIN_PART_BYTES = 5 * MIB  # S3: every part but the last is at least 5 MiB
MAX_PART_BYTES = 5 * GIB
COPY_OBJECT_LIMIT = 5 * GIB  # S3: CopyObject copies at most 5 GB

# (CLI flag, CloudFormation parameter, SSM key under the config path, Settings field)
SSM_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("--vault", "BackupVaultName", "vault", "vault"),
    ("--bucket", "ArchivalBucketName", "bucket", "bucket"),
    ("--storage-class", "ArchiveStorageClass", "storage-class", "storage_class"),
    ("--older-than", "DaysRecoveryPointsCreatedBefore", "older-than-days", "older_than_days"),
    ("--concurrency", "MaxConcurrency", "concurrency", "concurrency"),
    ("--max-in-progress-gb", "MaxInProgressGB", "max-in-progress-gb", "max_in_progress_gb"),
    ("--queue-url", "(the stack's queue)", "queue-url", "queue_url"),
    ("--include-undeletable", "-", "include-undeletable", "include_undeletable"),
    ("--verify-content", "-", "verify-content", "verify_content"),
    ("(schedule)", "ScheduleWindow", "schedule", ""),
    ("(notifications)", "NotificationEmail", "notification-email", ""),
    ("(bucket encryption)", "KmsKeyArn", "kms-key-arn", ""),
)


@dataclass(frozen=True)
class Settings:
    """Everything one archive run needs, as plain JSON across Step Functions states."""

    vault: str
    bucket: str
    cutoff: datetime  # recovery points created strictly before this are candidates
    run_id: str
    storage_class: StorageClass = StorageClass.GLACIER_IR
    queue_url: str | None = None
    include_undeletable: bool = False
    concurrency: int = 10
    copy_threshold_bytes: int = COPY_OBJECT_LIMIT
    part_size_bytes: int = 64 * MIB
    copy_concurrency: int = 8
    verify_content: bool = False
    store_deadline_seconds: float = 48 * 3600
    copy_deadline_seconds: float = 24 * 3600  # from the first copy call; a copy still unfinished fails
    quota_wait_deadline_seconds: float = 12 * 3600
    max_in_progress_bytes: int = 1200 * GB
    min_poll_seconds: float = 15.0
    max_poll_seconds: float = 600.0
    lease_seconds: float = 72 * 3600
    account_id: str = ""  # the caller's account (AMIs must be owned to be stored)

    def __post_init__(self) -> None:
        if self.cutoff.tzinfo is None:
            raise ConfigurationError("the cut-off date must carry a timezone")
        for name in ("concurrency", "copy_concurrency", "copy_threshold_bytes", "part_size_bytes"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        if self.max_in_progress_bytes < 1:
            raise ConfigurationError("--max-in-progress-gb must be positive")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        data["storage_class"] = self.storage_class.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["cutoff"] = datetime.fromisoformat(values["cutoff"])
        values["storage_class"] = StorageClass(values.get("storage_class", StorageClass.GLACIER_IR))
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def parse_storage_class(value: str) -> StorageClass:
    try:
        return StorageClass(value.strip().upper())
    except ValueError:
        choices = "|".join(c.value for c in StorageClass)
        raise ConfigurationError(
            f"invalid storage class {value!r}", hint=f"use --storage-class {choices}"
        ) from None


def parse_days(value: str | int | float) -> float:
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"--older-than must be a number of days, not {value!r}", hint="for example --older-than 90"
        ) from None
    if not math.isfinite(days) or days < 0:
        raise ConfigurationError(
            f"--older-than must be zero or more days, not {value!r}", hint="for example --older-than 90"
        )
    return days


def parse_date(value: str, flag: str = "--created-before") -> datetime:
    """An ISO 8601 date or date-time given to ``flag``; UTC when it has no offset."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"{flag} must be an ISO 8601 date, not {value!r}",
            hint=f"for example {flag} 2026-01-31 or 2026-01-31T12:00:00+02:00",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cutoff_from(now: datetime, older_than: str | float | None, created_before: str | None) -> datetime:
    """Exactly one of the two selects the recovery points."""
    if (older_than is None) == (created_before is None):
        raise ConfigurationError(
            "give exactly one of --older-than DAYS or --created-before DATE",
            hint="for example --older-than 90",
        )
    if created_before is not None:
        return parse_date(created_before)
    return now - timedelta(days=parse_days(older_than if older_than is not None else 0))


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def part_size_for(size: int, minimum: int) -> int:
    """The multipart copy part size: at least ``minimum`` (and 5 MiB), grown so no object needs more than
    10,000 parts, rounded up to a whole MiB."""
    part = max(minimum, MIN_PART_BYTES, math.ceil(size / MAX_PARTS))
    part = math.ceil(part / MIB) * MIB
    if part > MAX_PART_BYTES:
        raise ConfigurationError(f"an object of {size} bytes is too large for a multipart copy")
    return part

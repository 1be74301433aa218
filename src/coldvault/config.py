"""coldvault's archive settings (:class:`Settings`), the units and S3 limits they are counted in.

Where each setting comes from (flag, SSM key, template parameter, default) and how it is checked is
one table, :mod:`coldvault.settings_table`; :func:`coldvault.settings.resolve` builds a ``Settings``
from it for both engines. The defaults below are the table's (a test holds them equal).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
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
    quota_wait_deadline_seconds: float = 12 * 3600
    max_in_progress_bytes: int = 1200 * GB
    min_poll_seconds: float = 15.0
    max_poll_seconds: float = 600.0
    # A point's lease lasts this long unless its holder renews it (the CLI every third of it, each cloud
    # step before it acts): longer than the longest wait between two cloud steps (max_poll_seconds).
    lease_seconds: float = 30 * 60
    progress_seconds: float = 60.0  # without a terminal: a progress line at least this often
    items_per_execution: int = 100  # the cloud's batch: points per state machine execution
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


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date or date-time; UTC when it has no offset. ValueError when it is not one."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: str, flag: str) -> datetime:
    """An ISO 8601 date or date-time given to ``flag``; UTC when it has no offset."""
    try:
        return parse_iso(value)
    except ValueError:
        raise ConfigurationError(
            f"{flag} must be an ISO 8601 date, not {value!r}",
            hint=f"for example {flag} 2026-01-31 or 2026-01-31T12:00:00+02:00",
        ) from None


def part_size_for(size: int, minimum: int) -> int:
    """The multipart copy part size: at least ``minimum`` (and 5 MiB), grown so no object needs more than
    10,000 parts, rounded up to a whole MiB."""
    part = max(minimum, MIN_PART_BYTES, math.ceil(size / MAX_PARTS))
    part = math.ceil(part / MIB) * MIB
    if part > MAX_PART_BYTES:
        raise ConfigurationError(f"an object of {size} bytes is too large for a multipart copy")
    return part

"""Restore policy, pure: options and their checks, names and tags of restored AMIs, expected waits,
polling intervals, and the retrieval cost estimate shown before a restore (its prices are in
:class:`coldvault.pricing.Prices`, the one price table).
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from coldvault.errors import UsageError
from coldvault.manifest import Manifest
from coldvault.pricing import DAYS_PER_MONTH, Prices, retrieval_key

TIERS = ("Expedited", "Standard", "Bulk")
MAX_DAYS = 365
MAX_IMAGE_TAGS = 50
NAME_RE = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
_NAME_BAD = re.compile(r"[^A-Za-z0-9()\[\] ./\-'@_]+")
GIB = 1024**3
HOUR = 3600.0


class Stage(enum.StrEnum):
    """Where one restore is (the state machine's Choice states read it)."""

    RESOLVED = "resolved"  # manifest found, nothing requested yet
    THAWING = "thawing"  # RestoreObject running
    READABLE = "readable"  # the archive can be read: the image task can start
    IMAGING = "imaging"  # the restore image task's AMI is pending
    ENCRYPT = "encrypt"  # the plain AMI is available: an encrypted copy is needed
    ENCRYPTING = "encrypting"  # the encrypted copy is pending
    DONE = "done"  # the AMI is available
    FAILED = "failed"


def parse_tier(value: str) -> str:
    for tier in TIERS:
        if value.strip().lower() == tier.lower():
            return tier
    raise UsageError(f"invalid tier {value!r}", hint=f"use --tier {'|'.join(TIERS)}")


@dataclass(frozen=True)
class RestoreOptions:
    tier: str = "Standard"
    days: int = 3  # how long the temporary readable copy of a Glacier archive lives
    name: str | None = None
    kms_key_id: str | None = None
    deadline_seconds: float = 72 * HOUR
    queue_url: str | None = None

    def validate(self) -> None:
        if self.tier not in TIERS:
            raise UsageError(f"invalid tier {self.tier!r}", hint=f"use --tier {'|'.join(TIERS)}")
        if not 1 <= self.days <= MAX_DAYS:
            raise UsageError(
                f"--days must be between 1 and {MAX_DAYS}, not {self.days}",
                hint="the restored copy is billed as S3 Standard for that many days; 1-7 is typical",
            )
        if self.name is not None and not NAME_RE.match(self.name):
            raise UsageError(
                f"invalid AMI name {self.name!r}",
                hint="3-128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _",
            )
        if self.deadline_seconds <= 0:
            raise UsageError("the restore deadline must be positive")


def default_name(entry: Manifest) -> str:
    """A deterministic name unique to the archive: the original AMI's name + a digest of the key."""
    suffix = "-restored-" + hashlib.sha256(entry.archive.key.encode()).hexdigest()[:10]
    base = _NAME_BAD.sub("-", entry.image_name or entry.ami_id).strip() or entry.ami_id
    return f"{base[: 128 - len(suffix)]}{suffix}"


def image_tags(entry: Manifest, *, extra: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The restored AMI's tags: the original ones without ``aws:`` keys, within EC2's 50 with room
    for ``extra`` (and for the stage tag of an encrypted restore), ``Name`` kept first; plus the
    keys that did not fit."""
    reserved = len(extra) + (1 if entry.encrypted else 0)
    room = MAX_IMAGE_TAGS - reserved
    originals = {
        k: v[:256]
        for k, v in entry.image_tags.items()
        if not k.lower().startswith("aws:") and k not in extra and len(k) <= 128
    }
    ordered = sorted(originals, key=lambda k: (k != "Name", k))
    kept, dropped = ordered[:room], ordered[room:]
    tags = {k: originals[k] for k in kept}
    tags.update(extra)
    return tags, dropped


# Expected Glacier restore times (aws-facts.md): (earliest, latest) in seconds.
WINDOWS: dict[tuple[str, str], tuple[float, float]] = {
    ("GLACIER", "Expedited"): (60.0, 300.0),
    ("GLACIER", "Standard"): (3 * HOUR, 5 * HOUR),
    ("GLACIER", "Bulk"): (5 * HOUR, 12 * HOUR),
    ("DEEP_ARCHIVE", "Standard"): (0.0, 12 * HOUR),
    ("DEEP_ARCHIVE", "Bulk"): (0.0, 48 * HOUR),
}
# Expedited is 1-5 minutes "for all but the largest archived objects (250 MB+)" (S3 User Guide); AWS
# gives no figure above that, and an archived AMI is usually gigabytes. Assumed: the 5 minutes grow in
# proportion to the size past 250 MB, never beyond Standard's 5 hours.
EXPEDITED_FAST_BYTES = 250 * 1000**2
MIN_POLL = 5.0
MAX_POLL = 1800.0


def window(storage_class: str, tier: str, size_bytes: int = 0) -> tuple[float, float] | None:
    """(earliest, latest) seconds a Glacier restore of an object of ``size_bytes`` takes; None when
    the class is readable at once."""
    found = WINDOWS.get((storage_class, tier))
    if found is None:
        return None
    low, high = found
    if tier == "Expedited" and size_bytes > EXPEDITED_FAST_BYTES:
        high = min(WINDOWS[(storage_class, "Standard")][1], high * size_bytes / EXPEDITED_FAST_BYTES)
    return low, high


def expected_wait(storage_class: str, tier: str, size_bytes: int = 0) -> str:
    found = window(storage_class, tier, size_bytes)
    if found is None:
        return "none (readable at once)"
    low, high = found

    def fmt(seconds: float) -> str:
        return f"{seconds / 60:.0f} min" if seconds < HOUR else f"{seconds / HOUR:.0f} h"

    return f"within {fmt(high)}" if low == 0 else f"{fmt(low)}-{fmt(high)}"


def next_thaw_poll(
    storage_class: str, tier: str, elapsed: float, *, attached: bool, size_bytes: int = 0
) -> float:
    """Seconds until the next look at a running Glacier restore: nothing before the earliest
    expected completion (one wait, not a costly loop), then a fraction of the window, bounded."""
    low, high = window(storage_class, tier, size_bytes) or (0.0, 5 * 60.0)
    if not attached and elapsed < low:
        return max(MIN_POLL, low - elapsed)
    step = (high - low) / 6 if high > low else high / 8
    return min(MAX_POLL, max(MIN_POLL, step))


def next_image_poll(polls: int) -> float:
    """Seconds until the next look at a pending AMI: 2 s, growing by half each time, up to 2 min."""
    return float(min(120.0, 2.0 * 1.5**polls))


@dataclass(frozen=True)
class Estimate:
    storage_class: str
    size_bytes: int
    tier: str
    days: int
    expected_wait: str
    retrieval_usd: float
    temporary_copy_usd: float
    prices_date: str

    @property
    def total_usd(self) -> float:
        return self.retrieval_usd + self.temporary_copy_usd

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "total_usd": round(self.total_usd, 4)}


def estimate(
    storage_class: str, size_bytes: int, tier: str, days: int, prices: Prices | None = None
) -> Estimate:
    """What reading the archive back costs (retrieval + the temporary copy for ``days``), at
    ``prices`` (the built-in table of :mod:`coldvault.pricing` by default)."""
    table = prices or Prices()
    gb = size_bytes / GIB
    key = retrieval_key(storage_class, tier)
    retrieval = (
        gb * table.retrieval_per_gb.get(key, 0.0) + table.restore_requests_per_1000.get(key, 0.0) / 1000
    )
    glacier = storage_class in ("GLACIER", "DEEP_ARCHIVE")
    temporary = gb * table.standard_gb_month * days / DAYS_PER_MONTH if glacier else 0.0
    return Estimate(
        storage_class=storage_class,
        size_bytes=size_bytes,
        tier=tier if storage_class != "GLACIER_IR" else "",
        days=days if storage_class != "GLACIER_IR" else 0,
        expected_wait=expected_wait(storage_class, tier, size_bytes),
        retrieval_usd=retrieval,
        temporary_copy_usd=temporary,
        prices_date=table.date,
    )

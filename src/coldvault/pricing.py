"""Estimated monthly costs before and after archiving: one dated price table, overridable.

Honesty rules the estimates follow:

- The vault holds *incremental* snapshots: deleting one recovery point frees only the blocks no other
  snapshot uses. coldvault cannot see block sharing, so what the vault frees is given as a range: at
  most the point's full size; at least nothing while younger points of the same instance stay.
- An archive is a *full* compressed copy; compression is unknown before the store, so the full size is
  assumed (an upper bound).
- Each class bills a minimum storage duration (90 or 180 days) even when the object goes earlier.
- A point already due to expire (``CalculatedLifecycle.DeleteAt``) would only cost its remaining
  retention if kept: points where archiving costs more than keeping are flagged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from coldvault.errors import ConfigurationError
from coldvault.models import RecoveryPoint, StorageClass

GB = 1_000_000_000
DAYS_PER_MONTH = 30.0
HORIZON_MONTHS = 12.0  # compared over a year when the point has no scheduled deletion


def retrieval_key(storage_class: str, tier: str) -> str:
    """The key of a retrieval price: ``GLACIER_IR`` (no tiers), else ``<class>/<tier>``."""
    return storage_class if storage_class == "GLACIER_IR" else f"{storage_class}/{tier}"


@dataclass(frozen=True)
class Prices:
    """US-East-1 list prices in USD (per GB-month unless said), as checked on ``date``
    (aws-facts.md): storage, requests, and reading archives back."""

    date: str = "2026-11-01"
    region: str = "us-east-1"
    backup_ec2_gb_month: float = 0.05
    standard_gb_month: float = 0.023  # S3 Standard: a restored temporary copy is billed at it
    class_gb_month: dict[str, float] = field(
        default_factory=lambda: {"GLACIER_IR": 0.004, "GLACIER": 0.0036, "DEEP_ARCHIVE": 0.00099}
    )
    min_days: dict[str, int] = field(
        default_factory=lambda: {"GLACIER_IR": 90, "GLACIER": 90, "DEEP_ARCHIVE": 180}
    )
    put_per_1000: dict[str, float] = field(
        default_factory=lambda: {"GLACIER_IR": 0.02, "GLACIER": 0.03, "DEEP_ARCHIVE": 0.05}
    )
    # Per GB read back, by retrieval_key().
    retrieval_per_gb: dict[str, float] = field(
        default_factory=lambda: {
            "GLACIER_IR": 0.03,
            "GLACIER/Expedited": 0.03,
            "GLACIER/Standard": 0.01,
            "GLACIER/Bulk": 0.0,
            "DEEP_ARCHIVE/Standard": 0.02,
            "DEEP_ARCHIVE/Bulk": 0.0025,
        }
    )
    # EBS direct APIs (EBS User Guide, "Pricing for EBS direct APIs"): plan's listings are billed per
    # request; a store task reads every block the AMI's snapshots hold, billed per block returned.
    ebs_list_per_1000_requests: float = 0.0006
    ebs_get_block_per_1000_blocks: float = 0.003
    # Per 1,000 restore requests, by retrieval_key(); GLACIER_IR needs none.
    restore_requests_per_1000: dict[str, float] = field(
        default_factory=lambda: {
            "GLACIER/Expedited": 10.0,
            "GLACIER/Standard": 0.05,
            "GLACIER/Bulk": 0.025,  # no charge per GB, but the requests are billed
            "DEEP_ARCHIVE/Standard": 0.10,
            "DEEP_ARCHIVE/Bulk": 0.025,
        }
    )

    @classmethod
    def load(cls, path: str | Path | None) -> Prices:
        """The built-in table, with the values of a JSON file (same field names) over it; a table
        field (an object) is merged key by key."""
        base = cls()
        if path is None:
            return base
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot read price file {path}: {exc}", hint="pass a JSON file (see docs/archive.md)"
            ) from exc
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"price file {path} must hold a JSON object", hint="see docs/archive.md for the format"
            )
        changes: dict[str, Any] = {}
        for name, value in data.items():
            if name not in cls.__dataclass_fields__:
                raise ConfigurationError(f"unknown price {name!r} in {path}", hint="see docs/archive.md")
            current = getattr(base, name)
            if isinstance(current, dict):
                if not isinstance(value, dict):
                    raise ConfigurationError(
                        f"price {name!r} in {path} must be an object", hint=f"keys: {', '.join(current)}"
                    )
                for key, number in value.items():
                    if key not in current:
                        raise ConfigurationError(
                            f"unknown key {key!r} of price {name!r} in {path}",
                            hint=f"keys: {', '.join(current)}",
                        )
                    _check_number(path, f"{name}.{key}", number)
                changes[name] = {**current, **value}
            elif isinstance(current, str):
                if not isinstance(value, str):
                    raise ConfigurationError(
                        f"price {name!r} in {path} must be a string", hint='for example "2026-11-01"'
                    )
                changes[name] = value
            else:
                changes[name] = _check_number(path, name, value)
        return replace(base, **changes)


def _check_number(path: str | Path, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ConfigurationError(
            f"price {name!r} in {path} must be a number >= 0, not {value!r}", hint="see docs/archive.md"
        )
    return value


@dataclass(frozen=True)
class PointEstimate:
    ami_id: str
    instance_id: str
    size_gb: float
    vault_month_max: float  # what keeping costs per month if all its blocks were unique
    archive_month: float
    remaining_days: float | None  # until CalculatedLifecycle.DeleteAt
    keep_cost: float  # keeping until DeleteAt (or the horizon), upper bound
    archive_cost: float  # archiving for the same period, minimum duration included
    shares_blocks: bool  # younger points of the same instance stay in the vault
    costs_more: bool


@dataclass(frozen=True)
class Estimate:
    prices_date: str
    storage_class: str
    points: list[PointEstimate]
    vault_month_before_max: float
    vault_month_freed_min: float
    vault_month_freed_max: float
    archive_month_after: float
    flagged: int

    def to_json(self) -> dict[str, Any]:
        return {
            "prices_date": self.prices_date,
            "storage_class": self.storage_class,
            "vault_month_before_max": round(self.vault_month_before_max, 2),
            "vault_month_freed_min": round(self.vault_month_freed_min, 2),
            "vault_month_freed_max": round(self.vault_month_freed_max, 2),
            "archive_month_after": round(self.archive_month_after, 2),
            "costs_more_than_keeping": self.flagged,
            "note": NOTE,
        }


NOTE = (
    "vault snapshots are incremental: archiving frees between the 'min' and 'max' figures; "
    "archives are full copies billed for the class's minimum duration"
)


def estimate_point(
    point: RecoveryPoint, storage_class: StorageClass, prices: Prices, now: datetime, *, shares_blocks: bool
) -> PointEstimate:
    size_gb = point.backup_size_bytes / GB
    vault_month = size_gb * prices.backup_ec2_gb_month
    archive_month = size_gb * prices.class_gb_month[storage_class.value]
    remaining = (point.delete_at - now).total_seconds() / 86400 if point.delete_at else None
    months = max(0.0, remaining) / DAYS_PER_MONTH if remaining is not None else HORIZON_MONTHS
    min_months = prices.min_days[storage_class.value] / DAYS_PER_MONTH
    keep = vault_month * months
    archive = archive_month * max(months, min_months) + prices.put_per_1000[storage_class.value] / 1000
    return PointEstimate(
        ami_id=point.ami_id,
        instance_id=point.instance_id,
        size_gb=size_gb,
        vault_month_max=vault_month,
        archive_month=archive_month,
        remaining_days=remaining,
        keep_cost=keep,
        archive_cost=archive,
        shares_blocks=shares_blocks,
        costs_more=archive > keep,
    )


def estimate(
    candidates: Iterable[RecoveryPoint],
    storage_class: StorageClass,
    prices: Prices,
    now: datetime,
    *,
    instances_keeping_points: set[str] | frozenset[str] = frozenset(),
) -> Estimate:
    """Monthly cost of the candidates in the vault now, what archiving frees (a range) and costs."""
    points = [
        estimate_point(p, storage_class, prices, now, shares_blocks=p.instance_id in instances_keeping_points)
        for p in candidates
    ]
    largest: dict[str, float] = {}
    for e in points:
        if not e.shares_blocks:
            largest[e.instance_id] = max(largest.get(e.instance_id, 0.0), e.vault_month_max)
    return Estimate(
        prices_date=prices.date,
        storage_class=storage_class.value,
        points=points,
        vault_month_before_max=sum(e.vault_month_max for e in points),
        # Every point of an instance going frees at least its largest point's blocks; sharing unknown.
        vault_month_freed_min=sum(largest.values()),
        vault_month_freed_max=sum(e.vault_month_max for e in points),
        archive_month_after=sum(e.archive_month for e in points),
        flagged=sum(1 for e in points if e.costs_more),
    )

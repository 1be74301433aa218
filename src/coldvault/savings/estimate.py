"""What archiving each candidate saves, and whether to archive it: measured instance by instance.

For every instance with candidates: its recovery points in the vault (one filtered listing), their AMIs'
snapshots (``DescribeImages``), the blocks of each lineage (:mod:`coldvault.savings.lineage`), then per
candidate an :class:`~coldvault.savings.breakeven.Assessment` over the days it is still to be retained.
With ``only_if_saves`` a candidate whose archive would cost more than keeping it is kept, with its
figures as the reason. When the EBS direct APIs are denied the figures fall back to a range (nothing
to the point's whole size freed), labelled as such, and only a point that would not pay even if all its
blocks were its own is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from coldvault.aws.backup import Backup
from coldvault.aws.ebs import Ebs
from coldvault.aws.ec2 import Ec2
from coldvault.models import RecoveryPoint
from coldvault.pricing import Prices
from coldvault.savings.breakeven import DEFAULT_COMPRESSION, Assessment, assess
from coldvault.savings.lineage import BlocksUnavailable, InstanceBlocks, LineagePoint, measure_instance

DEFAULT_HORIZON_DAYS = 365.0  # when neither --retain-days nor the point's lifecycle says
EXACT = "ebs-direct"
RANGE = "range"


@dataclass(frozen=True)
class CandidateSavings:
    point: RecoveryPoint
    method: str  # EXACT or RANGE
    freed_bytes: int | None  # None: unknown (RANGE), between 0 and the point's size
    held_bytes: int
    assessment: Assessment
    archive: bool
    reason: str


@dataclass
class Savings:
    candidates: list[CandidateSavings] = field(default_factory=list)
    method: str = EXACT
    fallback_reason: str = ""
    ebs_calls: int = 0
    ebs_cost_usd: float = 0.0
    compression: float = DEFAULT_COMPRESSION
    compression_source: str = "default"
    freed_all_bytes: int = 0  # deleting every candidate at once (exact method only)
    freed_selected_bytes: int = 0  # deleting the ones chosen (exact method only)

    def chosen(self) -> list[CandidateSavings]:
        return [c for c in self.candidates if c.archive]


def horizon_days(point: RecoveryPoint, now: datetime, retain_days: float | None) -> float:
    """Days the point is still to be retained: ``retain_days`` from its creation, else its lifecycle."""
    if retain_days is not None:
        return (point.creation_date - now).total_seconds() / 86400 + retain_days
    if point.delete_at is not None:
        return (point.delete_at - now).total_seconds() / 86400
    return DEFAULT_HORIZON_DAYS


def lineage_points(backup: Backup, ec2: Ec2, vault: str, resource_arn: str) -> list[LineagePoint]:
    """The instance's recovery points whose AMI still exists, with each device's snapshot."""
    points = [
        p for p in backup.iter_recovery_points(vault, resource_arn=resource_arn) if p.status != "DELETING"
    ]
    images = ec2.describe_images([p.ami_id for p in points])
    out = []
    for point in points:
        image = images.get(point.ami_id)
        if image is None:
            continue
        snapshots = {
            str(bd["DeviceName"]): str(bd["Ebs"]["SnapshotId"])
            for bd in image.block_devices
            if (bd.get("Ebs") or {}).get("SnapshotId")
        }
        out.append(LineagePoint(point.ami_id, point.creation_date, snapshots))
    return out


def estimate_savings(
    candidates: Sequence[RecoveryPoint],
    *,
    backup: Backup,
    ec2: Ec2,
    ebs: Ebs,
    vault: str,
    storage_class: str,
    prices: Prices,
    now: datetime,
    retain_days: float | None = None,
    only_if_saves: bool = True,
    compression: float | None = None,
    compression_source: str = "default",
) -> Savings:
    ratio = compression if compression is not None else DEFAULT_COMPRESSION
    result = Savings(compression=ratio, compression_source=compression_source if compression else "default")
    by_instance: dict[str, list[RecoveryPoint]] = {}
    for point in candidates:
        by_instance.setdefault(point.resource_arn, []).append(point)
    for resource_arn in sorted(by_instance):
        mine = by_instance[resource_arn]
        measured: InstanceBlocks | None = None
        if result.method == EXACT:
            try:
                lineage = lineage_points(backup, ec2, vault, resource_arn)
                measured = measure_instance(ebs, lineage, [p.ami_id for p in mine])
            except BlocksUnavailable as exc:
                result.method, result.fallback_reason = RANGE, exc.args[0] if exc.args else str(exc)
        chosen: list[str] = []
        for point in mine:
            decided = _decide(point, measured, storage_class, prices, now, retain_days, only_if_saves, ratio)
            result.candidates.append(decided)
            if decided.archive:
                chosen.append(point.ami_id)
        if measured is not None:
            result.ebs_calls += measured.calls
            result.freed_all_bytes += measured.freed_together([p.ami_id for p in mine])
            result.freed_selected_bytes += measured.freed_together(chosen)
    result.ebs_cost_usd = result.ebs_calls * prices.ebs_list_per_1000_requests / 1000
    if result.method == RANGE:  # instances measured before the denial are ranges too: one method per plan
        result.candidates = [
            _as_range(c, storage_class, prices, now, retain_days, only_if_saves, ratio)
            for c in result.candidates
        ]
        result.freed_all_bytes = result.freed_selected_bytes = 0
    return result


def _decide(
    point: RecoveryPoint,
    measured: InstanceBlocks | None,
    storage_class: str,
    prices: Prices,
    now: datetime,
    retain_days: float | None,
    only_if_saves: bool,
    ratio: float,
) -> CandidateSavings:
    blocks = measured.points.get(point.ami_id) if measured is not None else None
    if blocks is None:
        return _range(point, storage_class, prices, now, retain_days, only_if_saves, ratio)
    held = blocks.held_bytes or point.backup_size_bytes
    result = assess(
        freed_bytes=blocks.freed_bytes,
        held_bytes=held,
        storage_class=storage_class,
        prices=prices,
        horizon_days=horizon_days(point, now, retain_days),
        compression=ratio,
    )
    archive = result.pays or not only_if_saves
    reason = result.reason if result.pays or only_if_saves else f"archived although {result.reason}"
    return CandidateSavings(point, EXACT, blocks.freed_bytes, held, result, archive, reason)


def _range(
    point: RecoveryPoint,
    storage_class: str,
    prices: Prices,
    now: datetime,
    retain_days: float | None,
    only_if_saves: bool,
    ratio: float,
) -> CandidateSavings:
    """Without block listings: assume the best case (every block its own) to decide, say it is a range."""
    size = point.backup_size_bytes
    best = assess(
        freed_bytes=size,
        held_bytes=size,
        storage_class=storage_class,
        prices=prices,
        horizon_days=horizon_days(point, now, retain_days),
        compression=ratio,
    )
    archive = best.pays or not only_if_saves
    reason = "frees between nothing and its whole size (block sharing unknown); at best it " + (
        best.reason if best.pays else best.reason.replace("archiving", "it", 1)
    )
    return CandidateSavings(point, RANGE, None, size, best, archive, reason)


def _as_range(
    decided: CandidateSavings,
    storage_class: str,
    prices: Prices,
    now: datetime,
    retain_days: float | None,
    only_if_saves: bool,
    ratio: float,
) -> CandidateSavings:
    if decided.method == RANGE:
        return decided
    return _range(decided.point, storage_class, prices, now, retain_days, only_if_saves, ratio)

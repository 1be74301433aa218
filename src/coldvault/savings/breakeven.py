"""Whether archiving a recovery point pays, and after how many days (pure).

For one point, with the bytes deleting it frees from the vault (``freed``), the bytes its snapshots hold
(``held``: what a store task reads) and the archive's expected size (``held`` × a compression ratio):

- keeping costs ``freed`` at the vault's price per month: that is all deleting the point saves;
- archiving costs the archive at the class's price per month, billed for at least the class's minimum
  duration, plus once: the PUT of the copy, the store's EBS reads (every held block), and one restore
  (the cheapest tier), since an archive nobody can afford to read is no backup;
- the break-even is the first day from which the saving so far covers the archive's cost so far;
  ``None`` when that day never comes;
- archiving pays when the break-even falls within the days the point is still to be retained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coldvault.pricing import DAYS_PER_MONTH, GB, Prices, retrieval_key

BLOCK_BYTES = 524_288
DEFAULT_COMPRESSION = 0.6  # archive bytes per held byte: an assumption until this bucket has archives
PLAUSIBLE_COMPRESSION = (0.05, 1.05)  # learned ratios outside this are not trusted
CHEAPEST_TIER = {"GLACIER": "Bulk", "DEEP_ARCHIVE": "Bulk"}


@dataclass(frozen=True)
class Assessment:
    freed_bytes: int
    archive_bytes_estimate: int
    keep_month_usd: float  # what the freed bytes cost in the vault per month
    archive_month_usd: float
    monthly_saving_usd: float
    one_off_usd: float  # PUT + store's EBS reads + one restore
    break_even_days: float | None
    horizon_days: float
    saving_over_horizon_usd: float
    pays: bool

    @property
    def reason(self) -> str:
        if self.pays:
            return (
                f"saves ${self.saving_over_horizon_usd:.2f} over {self.horizon_days:.0f} days "
                f"(break-even after {self.break_even_days:.0f} days)"
            )
        if self.break_even_days is None:
            return (
                f"archiving never pays: the archive (${self.archive_month_usd:.4f}/month) costs at least "
                f"what deleting frees (${self.keep_month_usd:.4f}/month)"
            )
        return (
            f"archiving costs ${-self.saving_over_horizon_usd:.2f} more than keeping over the "
            f"{self.horizon_days:.0f} days left (break-even after {self.break_even_days:.0f} days)"
        )


def compression_ratio(pairs: list[tuple[int, int]]) -> float | None:
    """The archive bytes per source byte of earlier archives ((archive, source) pairs), if plausible."""
    archive = sum(a for a, _ in pairs)
    source = sum(s for _, s in pairs)
    if source <= 0:
        return None
    ratio = archive / source
    low, high = PLAUSIBLE_COMPRESSION
    return ratio if low <= ratio <= high else None


def assess(
    *,
    freed_bytes: int,
    held_bytes: int,
    storage_class: str,
    prices: Prices,
    horizon_days: float,
    compression: float = DEFAULT_COMPRESSION,
) -> Assessment:
    archive_bytes = math.ceil(held_bytes * compression)
    keep_month = freed_bytes / GB * prices.backup_ec2_gb_month
    archive_month = archive_bytes / GB * prices.class_gb_month[storage_class]
    tier = CHEAPEST_TIER.get(storage_class, "")
    key = retrieval_key(storage_class, tier)
    restore = archive_bytes / GB * prices.retrieval_per_gb.get(key, 0.0) + (
        prices.restore_requests_per_1000.get(key, 0.0) / 1000
    )
    reads = math.ceil(held_bytes / BLOCK_BYTES) * prices.ebs_get_block_per_1000_blocks / 1000
    one_off = prices.put_per_1000[storage_class] / 1000 + reads + restore
    minimum = float(prices.min_days[storage_class])
    even = break_even_days(keep_month, archive_month, one_off, minimum)
    horizon = max(0.0, horizon_days)
    saving = keep_month * horizon / DAYS_PER_MONTH - (
        archive_month * max(horizon, minimum) / DAYS_PER_MONTH + one_off
    )
    return Assessment(
        freed_bytes=freed_bytes,
        archive_bytes_estimate=archive_bytes,
        keep_month_usd=keep_month,
        archive_month_usd=archive_month,
        monthly_saving_usd=keep_month - archive_month,
        one_off_usd=one_off,
        break_even_days=even,
        horizon_days=horizon,
        saving_over_horizon_usd=saving,
        pays=even is not None and even <= horizon,
    )


def break_even_days(
    keep_month: float, archive_month: float, one_off: float, minimum_days: float
) -> float | None:
    """The first day ``d`` with keep_month·d ≥ archive_month·max(d, minimum) + one_off (months of 30 days)."""
    per_day_keep = keep_month / DAYS_PER_MONTH
    per_day_archive = archive_month / DAYS_PER_MONTH
    if per_day_keep <= 0:
        return None
    within = (per_day_archive * minimum_days + one_off) / per_day_keep  # archive billed for the minimum
    if within <= minimum_days:
        return within
    if per_day_keep <= per_day_archive:
        return None
    return one_off / (per_day_keep - per_day_archive)  # past the minimum, billed day by day

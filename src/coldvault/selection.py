"""Which recovery points to archive, and why the others are skipped (pure: no I/O).

The facts selection needs (the vault's lock, the AMIs already in the catalogue, legal holds, which
AMIs EC2 can store) are gathered by :func:`coldvault.pipeline.listing.list_candidates` and passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coldvault.models import RecoveryPoint, SkipReason
from coldvault.periods import PeriodTracker

USABLE_STATES = frozenset({"COMPLETED", "AVAILABLE"})


@dataclass(frozen=True)
class VaultRules:
    """What the vault allows: a Vault Lock's minimum retention, recovery points under legal hold."""

    min_retention_days: int | None = None
    legal_holds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Skipped:
    point: RecoveryPoint
    reason: SkipReason
    detail: str = ""


@dataclass
class Plan:
    """The candidates (in listing order) and the skipped points with their reasons."""

    cutoff: datetime
    candidates: list[RecoveryPoint] = field(default_factory=list)
    resuming: set[str] = field(default_factory=set)  # AMI ids already archived, deletion not confirmed
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    listed: int = 0
    too_recent: int = 0
    instances_kept: set[str] = field(default_factory=set)  # instances with points staying in the vault

    @property
    def candidate_bytes(self) -> int:
        return sum(p.backup_size_bytes for p in self.candidates)

    def skip_counts(self) -> Counter[SkipReason]:
        return Counter(s.reason for s in self.skipped)


def deletable_after(point: RecoveryPoint, rules: VaultRules) -> datetime | None:
    """When a Vault Lock stops protecting the point (None: no lock)."""
    if not rules.min_retention_days:
        return None
    return point.creation_date + timedelta(days=rules.min_retention_days)


def skip_reason(
    point: RecoveryPoint,
    *,
    cutoff: datetime,
    now: datetime,
    archived: bool,
    rules: VaultRules,
    include_undeletable: bool,
) -> tuple[SkipReason, str] | None:
    """Why ``point`` is not archived by this run, or None when it is a candidate.

    A point already archived whose deletion was never confirmed is a candidate: the run resumes its
    deletion.
    """
    if point.resource_type != "EC2" or ":image/" not in point.arn:
        return SkipReason.NOT_EC2, point.resource_type or "unknown resource type"
    if point.creation_date >= cutoff:
        return SkipReason.TOO_RECENT, f"created {point.creation_date.isoformat()}"
    if point.status == "DELETING" and archived:
        return SkipReason.ALREADY_ARCHIVED, "recovery point is being deleted"
    # An archived point whose deletion did not happen (EXPIRED after a refused delete) is resumed.
    if point.status not in USABLE_STATES and not (archived and point.status == "EXPIRED"):
        return SkipReason.NOT_USABLE, f"state {point.status}"
    if not include_undeletable:
        if point.arn in rules.legal_holds:
            return SkipReason.LEGAL_HOLD, "a legal hold includes this recovery point"
        until = deletable_after(point, rules)
        if until is not None and until > now:
            return SkipReason.VAULT_LOCK, f"Vault Lock retention until {until.date().isoformat()}"
    return None


def select(
    points: Iterable[RecoveryPoint],
    *,
    cutoff: datetime,
    now: datetime,
    archived: set[str],
    rules: VaultRules,
    include_undeletable: bool,
    periods: PeriodTracker | None = None,
) -> Plan:
    """Stream ``points`` into a plan; only the candidates and the skipped ones are kept.

    With ``periods`` (``--select monthly|weekly|yearly``) every listed point is shown to the tracker,
    and once the listing is over the candidates that are not their period's last are skipped.
    """
    plan = Plan(cutoff=cutoff)
    for point in points:
        plan.listed += 1
        if periods is not None and point.resource_type == "EC2":
            periods.see(point.instance_id, point.creation_date, point.ami_id)
        is_archived = point.ami_id in archived
        reason = skip_reason(
            point,
            cutoff=cutoff,
            now=now,
            archived=is_archived,
            rules=rules,
            include_undeletable=include_undeletable,
        )
        if reason is None:
            plan.candidates.append(point)
            if is_archived:
                plan.resuming.add(point.ami_id)
            continue
        plan.instances_kept.add(point.instance_id)
        if reason[0] is SkipReason.TOO_RECENT:
            plan.too_recent += 1
        else:
            plan.skipped.append(Skipped(point, reason[0], reason[1]))
    if periods is not None:
        kept = []
        for point in plan.candidates:
            why = (
                None
                if point.ami_id in plan.resuming
                else periods.why_not(point.instance_id, point.creation_date, point.ami_id)
            )
            if why is None:
                kept.append(point)
            else:
                plan.skipped.append(Skipped(point, SkipReason.NOT_SELECTED, why))
                plan.instances_kept.add(point.instance_id)
        plan.candidates = kept
    return plan

"""Grandfather-father-son selection: archive only the last recovery point of each calendar period of
an instance (pure).

``--select monthly`` keeps, per instance, the newest point of each UTC calendar month (``weekly``: ISO
week, ``yearly``: year; ``all``: every point). The newest point is judged among *all* the instance's
points in the vault, not only the candidates: while a newer point of the same period is still too
young to archive, the period is not over and none of its points is selected yet. A period that already
has an archive (from an earlier run, seen in the archive keys) selects nothing more. Points not selected
stay in the vault; coldvault never deletes them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coldvault.errors import ConfigurationError


class SelectPolicy(enum.StrEnum):
    ALL = "all"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


def parse_policy(value: str) -> SelectPolicy:
    try:
        return SelectPolicy(value.strip().lower())
    except ValueError:
        choices = "|".join(p.value for p in SelectPolicy)
        raise ConfigurationError(
            f"invalid selection policy {value!r}", hint=f"use --select {choices}"
        ) from None


def period_of(when: datetime, policy: SelectPolicy) -> str:
    """The calendar period (UTC) ``when`` falls in: ``2026-03``, ``2026-W09``, ``2026``; ``""`` for all."""
    moment = when.astimezone(UTC)
    if policy is SelectPolicy.MONTHLY:
        return f"{moment.year:04d}-{moment.month:02d}"
    if policy is SelectPolicy.WEEKLY:
        year, week, _ = moment.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if policy is SelectPolicy.YEARLY:
        return f"{moment.year:04d}"
    return ""


@dataclass
class PeriodTracker:
    """Fed every point of the vault as it is listed; answers whether a candidate is its period's last."""

    policy: SelectPolicy
    newest: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)
    archived: dict[tuple[str, str], str] = field(default_factory=dict)  # (instance, period) -> AMI

    def see(self, instance_id: str, created: datetime, ami_id: str) -> None:
        if self.policy is SelectPolicy.ALL:
            return
        key = (instance_id, period_of(created, self.policy))
        current = self.newest.get(key)
        if current is None or (created, ami_id) > current:
            self.newest[key] = (created, ami_id)

    def see_archived(self, archives: Iterable[tuple[str, datetime, str]]) -> None:
        """(instance id, creation date, AMI id) of archives already in the bucket."""
        if self.policy is SelectPolicy.ALL:
            return
        for instance_id, created, ami_id in archives:
            self.archived.setdefault((instance_id, period_of(created, self.policy)), ami_id)

    def why_not(self, instance_id: str, created: datetime, ami_id: str) -> str | None:
        """Why this candidate is not selected, or None when it is."""
        if self.policy is SelectPolicy.ALL:
            return None
        period = period_of(created, self.policy)
        done = self.archived.get((instance_id, period))
        if done is not None and done != ami_id:
            return f"{self.policy.value} selection: {period} of {instance_id} is already archived ({done})"
        newest = self.newest.get((instance_id, period))
        if newest is not None and newest[1] != ami_id:
            return (
                f"{self.policy.value} selection: {newest[1]} is the last point of {period} for {instance_id}"
            )
        return None

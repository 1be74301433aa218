"""Per-instance calendar selection (grandfather-father-son)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault.errors import ConfigurationError
from coldvault.periods import PeriodTracker, SelectPolicy, parse_policy, period_of


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_periods_are_utc_calendar_periods() -> None:
    late = datetime.fromisoformat("2026-03-31T23:30:00-02:00")  # already April in UTC
    assert period_of(late, SelectPolicy.MONTHLY) == "2026-04"
    assert period_of(at("2026-01-01T00:00:00"), SelectPolicy.WEEKLY) == "2026-W01"
    assert period_of(at("2027-01-01T00:00:00"), SelectPolicy.WEEKLY) == "2026-W53"  # ISO week-year
    assert period_of(at("2026-07-04T00:00:00"), SelectPolicy.YEARLY) == "2026"


def test_only_the_last_point_of_each_month_per_instance_is_selected() -> None:
    tracker = PeriodTracker(SelectPolicy.MONTHLY)
    points = [
        ("i-a", at("2026-03-01T05:00:00"), "ami-1"),
        ("i-a", at("2026-03-31T05:00:00"), "ami-2"),
        ("i-a", at("2026-04-02T05:00:00"), "ami-3"),
        ("i-b", at("2026-03-15T05:00:00"), "ami-4"),
    ]
    for point in points:
        tracker.see(*point)
    assert [p[2] for p in points if tracker.why_not(*p) is None] == ["ami-2", "ami-3", "ami-4"]
    assert "ami-2 is the last point of 2026-03 for i-a" in str(tracker.why_not(*points[0]))


def test_a_period_already_archived_selects_nothing_more() -> None:
    tracker = PeriodTracker(SelectPolicy.MONTHLY)
    tracker.see("i-a", at("2026-03-01T05:00:00"), "ami-1")  # the archived one is gone from the vault
    tracker.see_archived([("i-a", at("2026-03-31T05:00:00"), "ami-9")])
    assert "already archived (ami-9)" in str(tracker.why_not("i-a", at("2026-03-01T05:00:00"), "ami-1"))


def test_all_selects_everything_and_bad_names_are_refused() -> None:
    tracker = PeriodTracker(SelectPolicy.ALL)
    tracker.see("i-a", at("2026-03-01T05:00:00"), "ami-1")
    assert tracker.why_not("i-a", at("2026-02-01T05:00:00"), "ami-0") is None
    assert parse_policy(" Monthly ") is SelectPolicy.MONTHLY
    with pytest.raises(ConfigurationError, match="daily"):
        parse_policy("daily")


@given(st.lists(st.integers(0, 400 * 24), min_size=1, max_size=40), st.sampled_from(list(SelectPolicy)))
def test_exactly_one_point_per_instance_period_is_selected(hours: list[int], policy: SelectPolicy) -> None:
    start = at("2026-01-01T00:00:00")
    points = [("i-a", start + timedelta(hours=h), f"ami-{n}") for n, h in enumerate(sorted(set(hours)))]
    tracker = PeriodTracker(policy)
    for point in points:
        tracker.see(*point)
    selected = [p for p in points if tracker.why_not(*p) is None]
    periods = {period_of(p[1], policy) for p in points}
    assert len(selected) == (len(points) if policy is SelectPolicy.ALL else len(periods))


def test_select_skips_the_candidates_that_are_not_their_months_last() -> None:
    from coldvault.models import RecoveryPoint, SkipReason
    from coldvault.selection import VaultRules, select

    def point(ami: str, created: str, instance: str = "i-a") -> RecoveryPoint:
        return RecoveryPoint(
            arn=f"arn:aws:ec2:us-east-1::image/{ami}",
            vault_name="v",
            resource_arn=f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}",
            resource_type="EC2",
            status="COMPLETED",
            creation_date=at(created),
        )

    listing = [
        point("ami-1", "2026-03-10T05:00:00"),
        point("ami-2", "2026-03-31T05:00:00"),
        point("ami-3", "2026-04-10T05:00:00"),
        point("ami-4", "2026-04-20T05:00:00"),  # too young: April is not over for the cut-off
    ]
    plan = select(
        listing,
        cutoff=at("2026-04-15T00:00:00"),
        now=at("2026-04-20T06:00:00"),
        archived=set(),
        rules=VaultRules(),
        include_undeletable=False,
        periods=PeriodTracker(SelectPolicy.MONTHLY),
    )
    assert [p.ami_id for p in plan.candidates] == ["ami-2"]
    assert {s.point.ami_id: s.reason for s in plan.skipped} == {
        "ami-1": SkipReason.NOT_SELECTED,
        "ami-3": SkipReason.NOT_SELECTED,
    }
    assert "i-a" in plan.instances_kept

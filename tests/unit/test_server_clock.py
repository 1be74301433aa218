"""``ServerClock``: the endpoint's time from the ``Date`` header, on a manual local clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from coldvault.clock import ManualClock, ServerClock

LOCAL = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def test_the_offset_of_the_last_response_applies_to_now_but_not_to_durations() -> None:
    local = ManualClock(current=LOCAL)
    clock = ServerClock(local)
    assert clock.offset is None
    assert clock.now() == LOCAL  # nothing seen, no probe: the local time
    clock.observe(_date(LOCAL + timedelta(days=30)))
    assert clock.now() == LOCAL + timedelta(days=30, seconds=0.5)  # mid-second of the header
    clock.sleep(10)
    assert clock.now() == LOCAL + timedelta(days=30, seconds=10.5)
    assert clock.monotonic() == 10
    clock.observe(_date(LOCAL - timedelta(hours=1)))  # a server behind the operator's clock
    assert clock.now() == LOCAL - timedelta(hours=1) + timedelta(seconds=0.5)


def test_an_offset_within_the_headers_resolution_counts_as_none() -> None:
    local = ManualClock(current=LOCAL + timedelta(seconds=0.7))
    clock = ServerClock(local)
    clock.observe(_date(LOCAL))
    assert clock.offset == timedelta(0)
    assert clock.now() == local.now()


def test_unreadable_or_missing_headers_are_ignored() -> None:
    clock = ServerClock(ManualClock(current=LOCAL))
    for header in (None, "", "yesterday", "Mon, 99 Foo 2026 99:99:99 GMT"):
        clock.observe(header)
    assert clock.offset is None


def test_the_probe_runs_once_when_the_time_is_needed_before_any_response() -> None:
    calls: list[int] = []
    clock: ServerClock

    def probe() -> None:
        calls.append(1)
        clock.observe(_date(LOCAL + timedelta(days=2)))

    clock = ServerClock(ManualClock(current=LOCAL), probe=probe)
    assert clock.now() == LOCAL + timedelta(days=2, seconds=0.5)
    assert clock.now() == LOCAL + timedelta(days=2, seconds=0.5)
    assert calls == [1]


def test_a_failed_probe_leaves_the_local_time_and_is_not_repeated() -> None:
    calls: list[int] = []
    clock = ServerClock(ManualClock(current=LOCAL), probe=lambda: calls.append(1))
    assert clock.now() == LOCAL
    assert clock.now() == LOCAL
    assert calls == [1]

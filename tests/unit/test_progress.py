"""The progress tally (points, bytes, rate, ETA) and the plain lines written without a terminal."""

from __future__ import annotations

import io

from coldvault.cli.progress_view import PlainProgress
from coldvault.clock import ManualClock
from coldvault.progress import Event, Tally, duration

GIB = 1024**3


def test_the_tally_counts_half_a_point_for_its_store_and_half_for_its_copy() -> None:
    clock = ManualClock()
    tally = Tally(clock, points=2, total_bytes=4 * GIB)
    assert tally.eta_seconds is None  # no rate yet
    tally.add(Event(kind="point", ami_id="ami-a", step="storing", size_bytes=2 * GIB, store_percent=50))
    clock.advance(10)
    assert tally.bytes_done == GIB // 2
    assert tally.rate == GIB / 2 / 10
    assert tally.eta_seconds == 70  # 3.5 GiB left at 0.05 GiB/s
    tally.add(Event(kind="done", ami_id="ami-a", outcome="archived", size_bytes=2 * GIB))
    assert tally.done == 1
    assert tally.bytes_done == 2 * GIB
    assert tally.summary() == "1/2 points, 2.0 GiB of 4.0 GiB, 204.8 MiB/s, ETA 0:00:10"


def test_plain_lines_one_per_transition_and_a_heartbeat() -> None:
    clock = ManualClock()
    out = io.StringIO()
    view = PlainProgress(Tally(clock, points=1, total_bytes=GIB), out)
    with view:
        for percent in (0, 10, 60):  # polls: one line for the store, not one per poll
            view(Event(kind="point", ami_id="ami-a", step="storing", size_bytes=GIB, store_percent=percent))
        clock.advance(60)
        view(Event(kind="heartbeat"))
        view(Event(kind="point", ami_id="ami-a", step="stored", size_bytes=GIB, store_percent=100))
        view(
            Event(
                kind="point", ami_id="ami-a", step="copy", size_bytes=GIB, store_percent=100, copy_percent=50
            )
        )
        view(
            Event(
                kind="point",
                ami_id="ami-a",
                step="verify",
                size_bytes=GIB,
                store_percent=100,
                copy_percent=100,
            )
        )
        view(Event(kind="done", ami_id="ami-a", outcome="archived", size_bytes=GIB))
    assert out.getvalue().splitlines() == [
        "00:00:00 archiving 1 point(s), 1.0 GiB",
        "00:00:00 ami-a store 0%",
        "00:01:00 progress: 0/1 points, 307.2 MiB of 1.0 GiB, 5.1 MiB/s, ETA 0:02:20",
        "00:01:00 ami-a copy 0%",
        "00:01:00 ami-a verify",
        "00:01:00 ami-a archived (1/1)",
    ]


def test_duration() -> None:
    assert duration(None) == "-"
    assert duration(3723.4) == "1:02:03"

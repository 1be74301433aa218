"""Progress events the runner emits, and the tally of them every renderer shows (counts, bytes, rate,
ETA). The CLI renders them on stderr: a live display on a terminal, plain lines otherwise
(``coldvault.cli.progress_view``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coldvault.clock import Clock
from coldvault.models import PointWork


@dataclass(frozen=True)
class Event:
    """``kind``: ``point`` (a point moved: step, store %, copy %), ``done`` (a point finished),
    ``waiting`` (the runner waits: quota, polling, a stop), ``heartbeat`` (time for a progress line),
    ``run`` (totals)."""

    kind: str
    ami_id: str = ""
    size_bytes: int = 0
    step: str = ""
    store_percent: int = 0
    copy_percent: int = 0
    outcome: str = ""
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {"event": self.kind, **{k: v for k, v in self.__dict__.items() if k not in {"kind", "extra"}}}
        data.update(self.extra)
        return {k: v for k, v in data.items() if v not in ("", None)}


EventSink = Callable[[Event], None]


def ignore(_: Event) -> None:
    return None


def point_event(work: PointWork, step: str | None = None) -> Event:
    if work.outcome is not None:
        return Event(
            kind="done",
            ami_id=work.ami_id,
            size_bytes=work.point.backup_size_bytes,
            step="done",
            store_percent=work.store_progress,
            copy_percent=work.copy_percent,
            outcome=work.outcome.value,
            message=work.error or work.deletion_pending,
        )
    return Event(
        kind="point",
        ami_id=work.ami_id,
        size_bytes=work.point.backup_size_bytes,
        step=step or work.stage.value,
        store_percent=work.store_progress,
        copy_percent=work.copy_percent,
    )


STORE_SHARE = 0.5  # of a point's bytes, the store task's part (the copy is the other half)


class Tally:
    """What the events add up to: points done, bytes processed, rate and ETA (thread-safe).

    A point counts its recovery point's size: half of it by its store task's percent, half by its
    copy's; a finished point (whatever its outcome) counts whole.
    """

    def __init__(self, clock: Clock, points: int, total_bytes: int) -> None:
        self.clock = clock
        self.points = points
        self.total_bytes = total_bytes
        self.started = clock.monotonic()
        self.outcomes: Counter[str] = Counter()
        self.active: dict[str, Event] = {}
        self._done_bytes = 0
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        with self._lock:
            if event.kind == "done":
                self.active.pop(event.ami_id, None)
                self.outcomes[event.outcome] += 1
                self._done_bytes += event.size_bytes
            elif event.kind == "point":
                self.active[event.ami_id] = event

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())

    @property
    def bytes_done(self) -> int:
        with self._lock:
            partial = sum(
                e.size_bytes * (STORE_SHARE * e.store_percent + (1 - STORE_SHARE) * e.copy_percent) / 100
                for e in self.active.values()
            )
            return min(self.total_bytes, self._done_bytes + int(partial))

    @property
    def elapsed(self) -> float:
        return max(0.0, self.clock.monotonic() - self.started)

    @property
    def rate(self) -> float:
        """Bytes per second since the run started (0 before any progress)."""
        elapsed = self.elapsed
        return self.bytes_done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the rate so far; None until there is a rate."""
        rate = self.rate
        if rate <= 0:
            return None
        return max(0.0, (self.total_bytes - self.bytes_done) / rate)

    def summary(self) -> str:
        """``3/10 points, 1.2 GiB of 4.0 GiB, 12.3 MiB/s, ETA 0:05:12`` (one line)."""
        rate = self.rate
        parts = [
            f"{self.done}/{self.points} points",
            f"{size(self.bytes_done)} of {size(self.total_bytes)}",
            f"{size(int(rate))}/s" if rate else "-/s",
            f"ETA {duration(self.eta_seconds)}",
        ]
        return ", ".join(parts)


def size(n: int) -> str:
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def duration(seconds: float | None) -> str:
    """``1:02:03``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"

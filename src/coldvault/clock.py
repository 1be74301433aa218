"""Time, injected: code that waits takes a :class:`Clock` so tests never really sleep.

Ages (which recovery points are old enough, when a lease is stale) are computed from
:class:`ServerClock`: the time of the AWS endpoint, learned from the ``Date`` header of its responses,
so that an operator's skewed clock cannot move the cutoff and a run against the sandbox sees its
virtual time (docs/archive.md, "Which clock").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for durations and deadlines."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class ServerClock:
    """The time of the AWS endpoint: ``local`` time plus the offset of the last response's ``Date``.

    AWS stamps every response with a ``Date`` header (RFC 9110: the origin server's time, to the
    second); :meth:`observe` is fed by a botocore event hook (``coldvault.aws.session``). An offset
    within the header's one-second resolution counts as none, so a well-synchronised host keeps its
    own sub-second time. Before any response has been seen, :meth:`now` runs ``probe`` once (a call
    that needs no permission, such as STS GetCallerIdentity) to learn the offset; without a probe, or
    when it fails, it is the local time. ``sleep`` and ``monotonic`` are the local clock's: durations
    do not depend on the server.
    """

    RESOLUTION_SECONDS = 1.0

    def __init__(self, local: Clock | None = None, probe: Callable[[], object] | None = None) -> None:
        self._local: Clock = local or SystemClock()
        self._probe = probe
        self._offset: float | None = None
        self._lock = threading.Lock()

    def observe(self, date_header: str | None) -> None:
        """Learn the offset from one response's ``Date`` header (ignored when absent or unreadable)."""
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        # The header is truncated to the second: the server's time is half a second later on average.
        offset = (server - self._local.now()).total_seconds() + 0.5
        self._offset = offset if abs(offset) > self.RESOLUTION_SECONDS else 0.0

    @property
    def offset(self) -> timedelta | None:
        """How far the server's time is ahead of the local clock (None: no response seen yet)."""
        return None if self._offset is None else timedelta(seconds=self._offset)

    def now(self) -> datetime:
        if self._offset is None and self._probe is not None:
            with self._lock:
                probe, self._probe = self._probe, None
            if probe is not None:
                probe()
        return self._local.now() + timedelta(seconds=self._offset or 0.0)

    def sleep(self, seconds: float) -> None:
        self._local.sleep(seconds)

    def monotonic(self) -> float:
        return self._local.monotonic()


@dataclass
class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    slept: list[float] = field(default_factory=list)
    _mono: float = 0.0

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self._mono += seconds


class Deadline:
    """A point on a clock's monotonic scale after which waiting stops."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._end = clock.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock.monotonic())

    def expired(self) -> bool:
        return self._clock.monotonic() >= self._end

"""The archive run's progress on stderr, in every output mode (stdout keeps only the data).

- :class:`LiveProgress` on a terminal: a line per active point (step, store %, copy %) and the totals
  (points, bytes, rate, ETA, elapsed), redrawn in place and fitted to the terminal's width.
- :class:`PlainProgress` without one (cron, CI, ``2> file``): a timestamped line per point transition
  (a new step, a finished point, a wait) and a heartbeat line with the totals every
  ``Settings.progress_seconds`` (the runner's ``heartbeat`` event), so a long run is never silent.
- :class:`JsonLines` with ``--output json`` and no terminal: the same events as JSON objects.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import IO, Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from coldvault.progress import Event, Tally, duration, size

NARROW_COLUMNS = 60
ACTIVE_LINES = 15


def _phase(step: str) -> str:
    """The step a point is in, as a person reads it: store, copy, verify, …"""
    return {
        "storing": "store",
        "stored": "copy",
        "copying": "copy",
        "copied": "verify",
        "verified": "delete",
    }.get(step, step)


def _step(event: Event) -> str:
    phase = _phase(event.step)
    if phase == "store":
        return f"store {event.store_percent}%"
    if phase == "copy":
        return f"copy {event.copy_percent}%"
    return phase


class _View:
    """The live display's renderable: re-rendered from the tally at every refresh (rate and ETA move)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.tally
        width = options.max_width
        active = list(t.active.values())[-ACTIVE_LINES:]
        counts = f"{t.done}/{t.points} points"
        volume = f"{size(t.bytes_done)}/{size(t.total_bytes)}"
        speed = f"{size(int(t.rate))}/s" if t.rate else "-/s"
        eta = f"ETA {duration(t.eta_seconds)}"
        elapsed = duration(t.elapsed)
        bar = ProgressBar(total=max(1, t.total_bytes), completed=t.bytes_done)
        if width < NARROW_COLUMNS:  # one thing per line, each cut to the width rather than wrapped
            lines = [Text(f"{e.ami_id} {_step(e)}", no_wrap=True, overflow="ellipsis") for e in active]
            lines.append(Text(f"{counts}  {volume}", no_wrap=True, overflow="ellipsis"))
            lines.append(Text(f"{speed}  {eta}  {elapsed}", no_wrap=True, overflow="ellipsis"))
            yield Group(*lines, bar)
            return
        bar.width = min(40, width // 4)
        table = Table(show_header=True, box=None, padding=(0, 1), pad_edge=False)
        for column in ("AMI", "step", "store", "copy"):
            table.add_column(column, no_wrap=True)
        for e in active:
            table.add_row(e.ami_id, _phase(e.step), f"{e.store_percent}%", f"{e.copy_percent}%")
        totals = Table.grid(padding=(0, 1))
        for _ in range(6):
            totals.add_column(no_wrap=True)
        totals.add_row(bar, counts, volume, speed, eta, elapsed)
        yield Group(table, totals) if active else totals


class LiveProgress:
    """On a terminal: the live display (rich) on stderr."""

    def __init__(self, console: Console, tally: Tally) -> None:
        from rich.live import Live

        self.console = console
        self.tally = tally
        self.lock = threading.Lock()
        self.live = Live(_View(tally), console=console, refresh_per_second=4, transient=False)

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.tally.add(event)
            if event.kind == "waiting" and event.message:
                self.console.print(f"[dim]{event.message}[/]", highlight=False)
            elif event.kind == "done" and event.outcome not in ("archived", ""):
                self.console.print(f"{event.ami_id} {event.outcome}: {event.message}", markup=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)


class PlainProgress:
    """Without a terminal: plain lines on ``stream`` (stderr), each flushed at once."""

    def __init__(self, tally: Tally, stream: IO[str] | None = None) -> None:
        self.tally = tally
        self.stream = stream or sys.stderr
        self.steps: dict[str, str] = {}
        self.lock = threading.Lock()

    def _line(self, text: str) -> None:
        stamp = self.tally.clock.now().strftime("%H:%M:%S")
        self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.tally.add(event)
            if event.kind == "point":
                step = _phase(event.step)
                if self.steps.get(event.ami_id) != step:
                    self.steps[event.ami_id] = step
                    self._line(f"{event.ami_id} {_step(event)}")
            elif event.kind == "done":
                self.steps.pop(event.ami_id, None)
                why = f": {event.message}" if event.message else ""
                self._line(f"{event.ami_id} {event.outcome}{why} ({self.tally.done}/{self.tally.points})")
            elif event.kind == "waiting" and event.message:
                self._line(event.message)
            elif event.kind == "heartbeat":
                self._line(f"progress: {self.tally.summary()}")
            elif event.kind == "run":
                self._line(f"{event.message}: {self.tally.summary()}")

    def __enter__(self) -> PlainProgress:
        self._line(f"archiving {self.tally.points} point(s), {size(self.tally.total_bytes)}")
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class JsonLines:
    """``--output json`` without a terminal: one JSON object per event on stderr; heartbeats carry the
    totals (``done``, ``points``, ``bytes_done``, ``bytes_total``, ``eta_seconds``)."""

    def __init__(self, tally: Tally, stream: IO[str] | None = None) -> None:
        self.tally = tally
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.tally.add(event)
            data: dict[str, Any] = event.to_json()
            if event.kind in ("heartbeat", "run"):
                eta = self.tally.eta_seconds
                data.update(
                    done=self.tally.done,
                    points=self.tally.points,
                    bytes_done=self.tally.bytes_done,
                    bytes_total=self.tally.total_bytes,
                    eta_seconds=round(eta) if eta is not None else None,
                )
            self.stream.write(json.dumps(data) + "\n")
            self.stream.flush()

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class NoProgress:
    """``--quiet``: nothing (the tally still counts, for the interrupt message)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def __call__(self, event: Event) -> None:
        self.tally.add(event)

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


ProgressView = LiveProgress | PlainProgress | JsonLines | NoProgress


def for_run(tally: Tally, *, quiet: bool, as_json: bool, console: Console | None = None) -> ProgressView:
    """The view for where stderr goes: live on a terminal, lines (or JSON lines) otherwise."""
    err = console or Console(stderr=True, highlight=False)
    if quiet:
        return NoProgress(tally)
    if err.is_terminal:
        return LiveProgress(err, tally)
    if as_json:
        return JsonLines(tally)
    return PlainProgress(tally)

"""Progress events the runner emits; the CLI renders them (rich table, JSON lines, or nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coldvault.models import PointWork


@dataclass(frozen=True)
class Event:
    """``kind``: ``point`` (a point moved: step, store %, copy %), ``done`` (a point finished),
    ``waiting`` (the runner waits: quota, polling), ``run`` (totals)."""

    kind: str
    ami_id: str = ""
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
            step="done",
            store_percent=work.store_progress,
            copy_percent=work.copy_percent,
            outcome=work.outcome.value,
            message=work.error or work.deletion_pending,
        )
    return Event(
        kind="point",
        ami_id=work.ami_id,
        step=step or work.stage.value,
        store_percent=work.store_progress,
        copy_percent=work.copy_percent,
    )

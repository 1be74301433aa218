"""A deployed run's working objects in the archive bucket, so no Step Functions payload grows with the fleet.

::

    runs/<run-id>/candidates.json       the run's settings, start time and every selected point (PointWork)
    runs/<run-id>/work/<ami-id>.json    one point's PointWork, written when its batch starts
    runs/<run-id>/results/<ami-id>.json the point's result (the publish step; the report reads these)

An execution carries only the AMI ids of its batch (at most ``ItemsPerExecution``); each Map
iteration loads its point from ``work/``. A run larger than one batch continues in a new execution
with the next cursor, so no execution's history nears 25,000 events and no payload nears 256 KB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coldvault import keys
from coldvault.config import Settings
from coldvault.errors import ConfigurationError
from coldvault.models import PointWork
from coldvault.pipeline.services import Services

MAX_INLINE_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once


@dataclass(frozen=True)
class RunState:
    """What crosses every state of the state machine about the run (small, constant size)."""

    run_id: str
    started: datetime
    settings: Settings
    cursor: int = 0
    next_cursor: int | None = None
    total: int = 0
    max_concurrency: int = 10

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "settings": self.settings.to_json(),
            "cursor": self.cursor,
            "next_cursor": self.next_cursor,
            "total": self.total,
            "max_concurrency": self.max_concurrency,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        try:
            return cls(
                run_id=str(data["run_id"]),
                started=datetime.fromisoformat(str(data["started"])),
                settings=Settings.from_json(data["settings"]),
                cursor=int(data.get("cursor") or 0),
                next_cursor=data.get("next_cursor"),
                total=int(data.get("total") or 0),
                max_concurrency=int(data.get("max_concurrency") or 10),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"the state machine passed no usable run state ({exc})") from exc


def save_candidates(svc: Services, run: RunState, works: list[PointWork]) -> None:
    body = {
        "run_id": run.run_id,
        "started": run.started.isoformat(),
        "settings": run.settings.to_json(),
        "items": [w.to_json() for w in works],
    }
    svc.s3.put_json(run.settings.bucket, keys.candidates_key(run.run_id), body)


def load_candidates(svc: Services, bucket: str, run_id: str) -> tuple[datetime, Settings, list[PointWork]]:
    body = svc.s3.get_json(bucket, keys.candidates_key(run_id))
    if body is None:
        raise ConfigurationError(
            f"run {run_id} has no candidate list in s3://{bucket}/{keys.candidates_key(run_id)}",
            hint="start a new run: coldvault run --stack-name NAME",
        )
    items = [PointWork.from_json(i) for i in body["items"]]
    return datetime.fromisoformat(body["started"]), Settings.from_json(body["settings"]), items


def open_batch(svc: Services, run: RunState, works: list[PointWork], size: int) -> tuple[RunState, list[str]]:
    """Write the work objects of the batch at ``run.cursor``; the run state and the batch's AMI ids."""
    batch = works[run.cursor : run.cursor + size]
    for work in batch:
        svc.s3.put_json(run.settings.bucket, keys.work_key(run.run_id, work.ami_id), work.to_json())
    end = run.cursor + len(batch)
    state = RunState(
        run_id=run.run_id,
        started=run.started,
        settings=run.settings,
        cursor=run.cursor,
        next_cursor=end if end < len(works) else None,
        total=len(works),
        max_concurrency=max(1, min(MAX_INLINE_CONCURRENCY, run.settings.concurrency)),
    )
    return state, [w.ami_id for w in batch]


def load_work(svc: Services, run: RunState, ami_id: str) -> PointWork:
    body = svc.s3.get_json(run.settings.bucket, keys.work_key(run.run_id, ami_id))
    if body is None:
        raise ConfigurationError(f"run {run.run_id} has no work object for {ami_id}")
    return PointWork.from_json(body)

"""Runs' reports, and the one writer of them: :func:`put_report` writes every report, archive or
restore, as ``logs/<yyyymmddThhmmssZ>-<run-id>.json`` and its ``.csv`` twin.

An archive run's consolidated report is built from the per-point result objects both engines write:
``runs/<run-id>/results/<ami-id>.json`` (one per point, written by the publish step) and
``runs/<run-id>/plan.json`` (the skipped points and the estimate, written when the run starts) are
read back, so a report is exact even when runs overlap or a run resumes after a crash. A restore's
report (schema :data:`RESTORE_REPORT_SCHEMA`, ``"kind": "restore"``) holds its one status message
(:mod:`coldvault.restore.engine`). ``coldvault report`` reads both kinds back
(:mod:`coldvault.report_view`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.config import Settings
from coldvault.models import Outcome
from coldvault.pipeline.services import Services
from coldvault.selection import Plan

REPORT_SCHEMA = "coldvault.report/1"
RESTORE_REPORT_SCHEMA = "coldvault.restore-report/1"
CSV_FIELDS = (
    "ami_id",
    "recovery_point_arn",
    "instance_id",
    "outcome",
    "archive_key",
    "storage_class",
    "backup_size_bytes",
    "archive_bytes",
    "seconds",
    "reason",
)


@dataclass
class Report:
    run_id: str
    started: datetime
    finished: datetime
    settings: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    estimate: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(str(i["outcome"]) for i in self.items)

    @property
    def exit_code(self) -> int:
        """0 only when every selected point is archived with its deletion confirmed (or nothing to do)."""
        bad = {Outcome.FAILED.value, Outcome.RETAINED.value, Outcome.LEASED.value}
        return 1 if any(i["outcome"] in bad for i in self.items) else 0

    def totals(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "archived": counts.get(Outcome.ARCHIVED.value, 0),
            "retained": counts.get(Outcome.RETAINED.value, 0),
            "failed": counts.get(Outcome.FAILED.value, 0),
            "leased": counts.get(Outcome.LEASED.value, 0),
            "skipped": counts.get(Outcome.SKIPPED.value, 0),
            "archived_bytes": sum(
                int(i.get("archive_bytes") or 0) for i in self.items if i["outcome"] == Outcome.ARCHIVED.value
            ),
            "source_bytes": sum(
                int(i.get("backup_size_bytes") or 0)
                for i in self.items
                if i["outcome"] == Outcome.ARCHIVED.value
            ),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "settings": self.settings,
            "totals": self.totals(),
            "estimate": self.estimate,
            "exit_code": self.exit_code,
            "items": self.items,
        }

    def to_csv(self) -> str:
        return csv_text(CSV_FIELDS, (self._csv_row(i) for i in self.items))

    @staticmethod
    def _csv_row(i: dict[str, Any]) -> dict[str, Any]:
        return {
            "ami_id": i.get("ami_id", ""),
            "recovery_point_arn": i.get("recovery_point_arn", ""),
            "instance_id": i.get("instance_id", ""),
            "outcome": i.get("outcome", ""),
            "archive_key": i.get("archive_key", ""),
            "storage_class": i.get("storage_class", ""),
            "backup_size_bytes": i.get("backup_size_bytes", 0),
            "archive_bytes": i.get("archive_bytes", 0),
            "seconds": round(sum((i.get("durations_seconds") or {}).values()), 3),
            "reason": i.get("error") or i.get("deletion_pending") or i.get("skip_reason", ""),
        }


def restore_report(run_id: str, started: str, finished: datetime, message: dict[str, Any]) -> dict[str, Any]:
    """A restore's report: its one status message as the one item."""
    return {
        "schema": RESTORE_REPORT_SCHEMA,
        "kind": "restore",
        "run_id": run_id,
        "started": started,
        "finished": finished.isoformat(),
        "items": [message],
    }


def csv_text(fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """A report's CSV: a header of ``fields``, one line per row (list values joined with ``;``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


def put_report(
    s3: S3, bucket: str, started: datetime, run_id: str, document: dict[str, Any], csv_body: str
) -> dict[str, str]:
    """Write one run's report (``document`` as JSON, and its CSV twin) under ``logs/``; their keys."""
    json_key = keys.report_key(started, run_id, "json")
    csv_key = keys.report_key(started, run_id, "csv")
    s3.put_json(bucket, json_key, document)
    s3.put_json(bucket, csv_key, csv_body.encode(), content_type="text/csv")
    return {"json": json_key, "csv": csv_key}


def plan_record(plan: Plan, estimate: dict[str, Any]) -> dict[str, Any]:
    """What the run records about its plan (the skipped points carry their reason)."""
    return {
        "estimate": estimate,
        "skipped": [
            {
                "ami_id": s.point.ami_id,
                "recovery_point_arn": s.point.arn,
                "instance_id": s.point.instance_id if ":instance/" in s.point.resource_arn else "",
                "outcome": Outcome.SKIPPED.value,
                "skip_reason": f"{s.reason.value}: {s.detail}" if s.detail else s.reason.value,
                "backup_size_bytes": s.point.backup_size_bytes,
            }
            for s in plan.skipped
        ],
    }


def record_plan(svc: Services, settings: Settings, plan: Plan, estimate: dict[str, Any]) -> None:
    svc.s3.put_json(settings.bucket, keys.plan_key(settings.run_id), plan_record(plan, estimate))


def write_report(svc: Services, settings: Settings, run_id: str, started: datetime) -> Report:
    """Gather the run's results into the consolidated report and write it (JSON and CSV)."""
    bucket = settings.bucket
    items = [
        doc
        for key in svc.s3.iter_keys(bucket, keys.results_prefix(run_id))
        if (doc := svc.s3.get_json(bucket, key)) is not None
    ]
    items.sort(key=lambda i: str(i.get("ami_id")))
    plan_doc = svc.s3.get_json(bucket, keys.plan_key(run_id)) or {}
    seen = {i.get("ami_id") for i in items}
    items.extend(s for s in plan_doc.get("skipped", []) if s.get("ami_id") not in seen)
    report = Report(
        run_id=run_id,
        started=started,
        finished=svc.clock.now(),
        settings=settings.to_json(),
        items=items,
        estimate=plan_doc.get("estimate", {}),
    )
    report.keys = put_report(svc.s3, bucket, started, run_id, report.to_json(), report.to_csv())
    return report

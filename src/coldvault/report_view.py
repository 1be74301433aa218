"""Reading runs' reports back from ``logs/`` (for ``coldvault report``): find them, pick one, summarise.

Report keys are ``logs/<yyyymmddThhmmssZ>-<run-id>.json`` (:func:`coldvault.keys.report_key`), written
by archive runs (schema ``coldvault.report/1``) and restore runs (``coldvault.restore-report/1``,
``"kind": "restore"``). The time in the key sorts the reports, so finding the newest N costs one key
listing and N reads, never a read of every report. Reports written in the same second are ordered by
run id.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.errors import AwsError, NotFound, UsageError
from coldvault.report import REPORT_SCHEMA, RESTORE_REPORT_SCHEMA, Report


class Kind(enum.StrEnum):
    archive = "archive"
    restore = "restore"


def parse_kind(value: str | None) -> Kind | None:
    if value is None:
        return None
    try:
        return Kind(value.strip().lower())
    except ValueError:
        raise UsageError(f"invalid report kind {value!r}", hint="use --kind archive|restore") from None


@dataclass(frozen=True)
class ReportRef:
    """One report as its key names it (no read)."""

    key: str
    time: datetime
    run_id: str

    @property
    def csv_key(self) -> str:
        return keys.report_key(self.time, self.run_id, "csv")


def parse_report_key(key: str) -> ReportRef | None:
    """The report a ``logs/`` key names; None for any other object (the CSV twins included)."""
    parsed = keys.parse_report_key(key)
    return None if parsed is None else ReportRef(key=key, time=parsed[0], run_id=parsed[1])


def newest_first(report_keys: Iterable[str]) -> list[ReportRef]:
    refs = [ref for key in report_keys if (ref := parse_report_key(key)) is not None]
    return sorted(refs, key=lambda r: (r.time, r.run_id), reverse=True)


def find_run(refs: list[ReportRef], wanted: str) -> ReportRef:
    """The report of run ``wanted``: an exact run id, else a prefix shared by exactly one run.

    ``refs`` are newest first; a run with more than one report (a report rewritten by a resumed run)
    gives its newest. Raises :class:`UsageError` for no match or an ambiguous prefix.
    """
    wanted = wanted.strip()
    if not wanted:
        raise UsageError("empty run id", hint="pass a run id (or a prefix of one) or --latest")
    exact = [r for r in refs if r.run_id == wanted]
    if exact:
        return exact[0]
    matches: dict[str, ReportRef] = {}
    for ref in refs:
        if ref.run_id.startswith(wanted):
            matches.setdefault(ref.run_id, ref)
    if not matches:
        raise UsageError(
            f"no report for run {wanted!r}", hint="see the run ids with coldvault report --list 20"
        )
    if len(matches) > 1:
        shown = ", ".join(sorted(matches)[:5]) + (", …" if len(matches) > 5 else "")
        raise UsageError(
            f"run id prefix {wanted!r} matches {len(matches)} runs ({shown})", hint="give more of the run id"
        )
    return next(iter(matches.values()))


@dataclass(frozen=True)
class LoadedReport:
    """A report read back: its text exactly as stored and, when it is a JSON object, the object."""

    ref: ReportRef
    text: str
    doc: dict[str, Any] | None = field(default=None)
    problem: str = ""  # why the body could not be read (e.g. moved to a Glacier class)

    @property
    def kind(self) -> Kind | None:
        """``restore``, ``archive``, or None for an object that is not a coldvault report."""
        doc = self.doc
        if doc is None:
            return None
        if doc.get("kind") == Kind.restore.value or doc.get("schema") == RESTORE_REPORT_SCHEMA:
            return Kind.restore
        if doc.get("schema") == REPORT_SCHEMA or "totals" in doc:
            return Kind.archive
        return None

    @property
    def items(self) -> list[dict[str, Any]]:
        items = (self.doc or {}).get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    @property
    def run_exit_code(self) -> int:
        """What the run itself exited with (1: failed, retained or leased points; a failed restore)."""
        if self.kind is Kind.archive:
            stored = (self.doc or {}).get("exit_code")
            if isinstance(stored, int):
                return stored
            return report_from_json(self).exit_code
        return 1 if any(i.get("outcome") == "failed" for i in self.items) else 0

    def totals(self) -> dict[str, Any]:
        """Archive: the stored totals. Restore: how many restores ended in each outcome."""
        if self.kind is Kind.archive:
            stored = (self.doc or {}).get("totals")
            return dict(stored) if isinstance(stored, dict) else report_from_json(self).totals()
        return dict(Counter(str(i.get("outcome", "")) for i in self.items))


def report_from_json(loaded: LoadedReport) -> Report:
    """An archive report as the :class:`~coldvault.report.Report` the archive run rendered."""
    doc = loaded.doc or {}
    return Report(
        run_id=str(doc.get("run_id") or loaded.ref.run_id),
        started=parse_time(doc.get("started"), loaded.ref.time),
        finished=parse_time(doc.get("finished"), loaded.ref.time),
        settings=dict(doc.get("settings") or {}),
        items=loaded.items,
        estimate=dict(doc.get("estimate") or {}),
        keys={"json": loaded.ref.key, "csv": loaded.ref.csv_key},
    )


def parse_time(value: Any, default: datetime) -> datetime:
    """An ISO 8601 time from a report (UTC when it has no offset); ``default`` when it is not one."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def summary_line(loaded: LoadedReport) -> str:
    """The totals in words, for a listing."""
    if loaded.kind is Kind.archive:
        t = loaded.totals()
        return (
            f"archived {t.get('archived', 0)}, retained {t.get('retained', 0)}, failed {t.get('failed', 0)}, "
            f"leased {t.get('leased', 0)}, skipped {t.get('skipped', 0)}"
        )
    if loaded.kind is Kind.restore:
        parts = []
        for i in loaded.items:
            image = f" as {i['image_id']}" if i.get("image_id") else ""
            parts.append(f"{i.get('outcome', '?')} {i.get('source_ami_id') or i.get('ami_id', '')}{image}")
        return "; ".join(parts) or "no entries"
    return f"not readable: {loaded.problem}" if loaded.problem else "not a coldvault report"


def listing_row(loaded: LoadedReport) -> dict[str, Any]:
    """One report in ``--list --output json``."""
    return {
        "time": loaded.ref.time.isoformat(),
        "run_id": loaded.ref.run_id,
        "kind": loaded.kind.value if loaded.kind else "unknown",
        "key": loaded.ref.key,
        "run_exit_code": loaded.run_exit_code if loaded.kind else None,
        "totals": loaded.totals() if loaded.kind else {},
        "summary": summary_line(loaded),
    }


class ReportReader:
    """The reports under ``logs/`` of one bucket, read through the S3 adapter."""

    def __init__(self, s3: S3, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def refs(self) -> list[ReportRef]:
        """``s3:ListBucket`` of ``logs/``: every report, newest first (no body read)."""
        try:
            return newest_first(self.s3.iter_keys(self.bucket, keys.LOG_PREFIX))
        except NotFound:
            raise UsageError(
                f"bucket {self.bucket!r} does not exist", hint="check --bucket (or --config) and --region"
            ) from None

    def read(self, ref: ReportRef) -> LoadedReport:
        """``s3:GetObject`` of one report. A body S3 will not return (a lifecycle rule moved it to
        a Glacier class: ``InvalidObjectState``) gives a report with ``problem`` set; NotFound raises."""
        try:
            data = b"".join(self.s3.iter_body(self.bucket, ref.key))
        except AwsError as exc:
            if exc.code != "InvalidObjectState":  # NotFound (NoSuchKey) included
                raise
            return LoadedReport(ref=ref, text="", problem="stored in a Glacier class (InvalidObjectState)")
        text = data.decode("utf-8", errors="replace")
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        return LoadedReport(ref=ref, text=text, doc=value if isinstance(value, dict) else None)

    def newest(self, refs: list[ReportRef], count: int, kind: Kind | None = None) -> Iterator[LoadedReport]:
        """The newest ``count`` reports (of ``kind``), reading bodies newest first and stopping there.

        Without ``kind`` that is exactly ``count`` reads; with it, reports of the other kind are read
        (to learn their kind) and passed over. A report deleted since the listing is passed over.
        """
        found = 0
        for ref in refs:
            if found >= count:
                return
            try:
                loaded = self.read(ref)
            except NotFound:
                continue
            if kind is not None and loaded.kind is not kind:
                continue
            found += 1
            yield loaded

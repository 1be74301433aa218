"""``coldvault report``: list the runs' reports in ``logs/`` and show one (read-only).

Exit codes: 0 when the reports were shown — also when a shown run had failed or retained points (the
run's own exit code is in the output); 2 for bad input (unknown run id, ambiguous prefix, no bucket,
conflicting arguments); 1 for a runtime error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.cli import render
from coldvault.cli.catalog_cmd import bucket_from
from coldvault.cli.options import OutputFormat, global_options
from coldvault.errors import ColdvaultError, NotFound, UsageError
from coldvault.report_view import (
    Kind,
    LoadedReport,
    ReportReader,
    ReportRef,
    find_run,
    listing_row,
    parse_kind,
    parse_time,
    report_from_json,
    summary_line,
)

DEFAULT_LIST = 10


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise UsageError(
            f"--list must be a whole number, not {value!r}", hint="for example --list 10"
        ) from None
    if number < 1:
        raise UsageError(f"--list must be at least 1, not {value!r}", hint="for example --list 10")
    return number


def _format(value: str | None, default: OutputFormat) -> OutputFormat:
    if value is None:
        return default
    try:
        return OutputFormat(value.strip().lower())
    except ValueError:
        raise UsageError(f"invalid output format {value!r}", hint="use --output table|json") from None


def _console() -> Console:
    console = Console()
    if not console.is_terminal:  # piped: tables as wide as their content, keys never elided
        console.width = 400
    return console


def _exit_note(loaded: LoadedReport) -> str:
    code = loaded.run_exit_code
    if not code:
        return "The run exited 0."
    what = "failed, retained or leased points" if loaded.kind is Kind.archive else "the restore failed"
    return f"The run exited {code}: {what} (see above)."


def show_archive(console: Console, loaded: LoadedReport, bucket: str) -> None:
    report = report_from_json(loaded)
    took = (report.finished - report.started).total_seconds()
    console.print(
        f"Archive run {report.run_id}: started {report.started:%Y-%m-%d %H:%M:%S} UTC, "
        f"finished {report.finished:%Y-%m-%d %H:%M:%S} UTC ({took:.1f} s)."
    )
    render.render_summary(console, report, bucket)
    console.print(_exit_note(loaded))


_RESTORE_ROWS = (
    ("outcome", "outcome"),
    ("archived AMI", "source_ami_id"),
    ("storage class", "storage_class"),
    ("tier", "tier"),
    ("Glacier restore", "thaw"),
    ("new AMI", "image_id"),
    ("new AMI name", "image_name"),
    ("AMI state", "image_state"),
    ("returned an earlier restore", "adopted"),
    ("encrypted", "encrypted"),
    ("KMS key", "kms_key_id"),
    ("error", "error"),
    ("error type", "error_type"),
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def show_restore(console: Console, loaded: LoadedReport, bucket: str) -> None:
    doc = loaded.doc or {}
    started = parse_time(doc.get("started"), loaded.ref.time)
    finished = parse_time(doc.get("finished"), loaded.ref.time)
    console.print(
        f"Restore run {doc.get('run_id') or loaded.ref.run_id}: started {started:%Y-%m-%d %H:%M:%S} UTC, "
        f"finished {finished:%Y-%m-%d %H:%M:%S} UTC."
    )
    for item in loaded.items:
        table = Table(
            title=f"Restore of {item.get('source_ami_id') or item.get('ami_id', '')}", show_header=False
        )
        table.add_column("what", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        table.add_row("archive", f"s3://{item.get('bucket', '')}/{item.get('archive_key', '')}")
        for label, name in _RESTORE_ROWS:
            value = item.get(name)
            if value not in (None, "", []):
                table.add_row(label, _text(value))
        if item.get("tags_dropped"):
            table.add_row("tags not kept", _text(item["tags_dropped"]))
        console.print(table)
    console.print(f"Report: s3://{bucket}/{loaded.ref.key} (and .csv)")
    console.print(_exit_note(loaded))


def show_listing(console: Console, bucket: str, rows: list[LoadedReport], kind: Kind | None) -> None:
    what = f"{kind.value} reports" if kind else "reports"
    if not rows:
        console.print(f"No {what} in s3://{bucket}/{keys.LOG_PREFIX}.")
        return
    table = Table(title=f"Newest {len(rows)} {what} in s3://{bucket}/{keys.LOG_PREFIX}")
    for column in ("time (UTC)", "run id", "kind", "run exit", "totals"):
        table.add_column(column, no_wrap=column != "totals")
    for loaded in rows:
        table.add_row(
            f"{loaded.ref.time:%Y-%m-%d %H:%M:%S}",
            loaded.ref.run_id,
            loaded.kind.value if loaded.kind else "unknown",
            str(loaded.run_exit_code) if loaded.kind else "",
            summary_line(loaded),
        )
    console.print(table)


def _pick(reader: ReportReader, refs: list[ReportRef], run_id: str | None, kind: Kind | None) -> LoadedReport:
    where = f"s3://{reader.bucket}/{keys.LOG_PREFIX}"
    if run_id is not None:
        ref = find_run(refs, run_id)
        try:
            loaded = reader.read(ref)
        except NotFound:
            raise UsageError(f"the report of run {ref.run_id} is gone", hint="list them again") from None
        if kind is not None and loaded.kind is not kind:
            found = loaded.kind.value if loaded.kind else "unknown"
            raise UsageError(
                f"run {ref.run_id} is of kind {found}, not {kind.value}",
                hint="drop --kind or pick another run",
            )
        return loaded
    latest = next(reader.newest(refs, 1, kind), None)
    if latest is None:
        what = f"{kind.value} report" if kind else "report"
        raise UsageError(f"no {what} in {where}", hint="check --bucket, or run coldvault archive first")
    return latest


def report(
    ctx: typer.Context,
    run_id: Annotated[
        str | None, typer.Argument(metavar="RUN_ID", help="A run id, or a prefix unique among the runs.")
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Show the newest report.")] = False,
    list_count: Annotated[
        str | None,
        typer.Option(
            "--list", metavar="N", help=f"List the newest N reports (the default, N={DEFAULT_LIST})."
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only archive or restore reports.", metavar="archive|restore")
    ] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")] = None,
    config: Annotated[str | None, typer.Option("--config", help="SSM path holding the settings.")] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="table | json (default: the global --output).")
    ] = None,
) -> None:
    """List the runs' reports, or show one run's report (read-only: exits 0 even for a failed run)."""
    opts = global_options(ctx)
    fmt = _format(output, opts.output)
    wanted_kind = parse_kind(kind)
    count = _count(list_count)
    if run_id is not None and latest:
        raise UsageError("give a run id or --latest, not both", hint="for example coldvault report --latest")
    if count is not None and (run_id is not None or latest):
        raise UsageError("--list lists reports; it does not go with a run id or --latest", hint="drop one")
    opts.aws.check_credentials()
    name = bucket_from(opts, bucket, config)
    reader = ReportReader(S3(opts.aws.client("s3")), name)
    refs = reader.refs()

    if run_id is None and not latest:
        rows = list(reader.newest(refs, count or DEFAULT_LIST, wanted_kind))
        if fmt is OutputFormat.json:
            typer.echo(json.dumps([listing_row(r) for r in rows], indent=2))
        else:
            show_listing(_console(), name, rows, wanted_kind)
        return

    loaded = _pick(reader, refs, run_id, wanted_kind)
    if loaded.problem:
        raise ColdvaultError(
            f"cannot read {loaded.ref.key}: {loaded.problem}", hint="restore the object first"
        )
    if fmt is OutputFormat.json:
        typer.echo(loaded.text, nl=not loaded.text.endswith("\n"))
        return
    if loaded.kind is Kind.archive:
        show_archive(_console(), loaded, name)
    elif loaded.kind is Kind.restore:
        show_restore(_console(), loaded, name)
    else:
        raise ColdvaultError(
            f"{loaded.ref.key} is not a coldvault report", hint="--output json prints it as stored"
        )


def register(app: typer.Typer) -> None:
    app.command("report")(report)

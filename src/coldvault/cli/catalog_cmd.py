"""``coldvault list``: the catalogue of archives, with each one's restore state."""

from __future__ import annotations

import csv
import enum
import io
import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coldvault.aws.ssm import Ssm
from coldvault.catalog import Catalog, Listed, ListFilter
from coldvault.cli.options import GlobalOptions, global_options
from coldvault.config import parse_date
from coldvault.errors import UsageError

_STORAGE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")


class ListFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def bucket_from(opts: GlobalOptions, bucket: str | None, config: str | None) -> str:
    """``--bucket``, else the ``bucket`` parameter under the ``--config`` SSM path."""
    if bucket:
        return bucket
    if config:
        value = Ssm(opts.aws.client("ssm")).parameters(config).get("bucket")
        if value:
            return value
        raise UsageError(f"no 'bucket' parameter under {config}", hint="pass --bucket or fix --config")
    raise UsageError("no archive bucket given", hint="pass --bucket NAME or --config /ssm/path")


def parse_day(value: str | None, flag: str) -> datetime | None:
    return None if value is None else parse_date(value, flag)


def parse_format(value: str) -> ListFormat:
    try:
        return ListFormat(value.strip().lower())
    except ValueError:
        raise UsageError(f"invalid output format {value!r}", hint="use --output table|json|csv") from None


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render(rows: list[Listed], fmt: ListFormat) -> str:
    """The listing as JSON or CSV text (the table is printed by rich)."""
    records = [r.to_json() for r in rows]
    if fmt is ListFormat.json:
        return json.dumps(records, indent=2)
    buffer = io.StringIO()
    fields = list(records[0]) if records else list(Listed.json_fields())
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def list_archives(
    ctx: typer.Context,
    bucket: Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="SSM Parameter Store path holding the settings.")
    ] = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Only this instance id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Recovery points created on/after (ISO date).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Recovery points created before (ISO date).")
    ] = None,
    storage_class: Annotated[
        str | None, typer.Option("--storage-class", help="GLACIER_IR | GLACIER | DEEP_ARCHIVE.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="table | json | csv (default: the global --output).")
    ] = None,
) -> None:
    """List the archives in the catalogue with their restore state (never reads a cold object)."""
    opts = global_options(ctx)
    fmt = parse_format(output) if output else ListFormat(opts.output.value)
    if storage_class is not None and storage_class.upper() not in _STORAGE_CLASSES:
        raise UsageError(
            f"invalid storage class {storage_class!r}",
            hint=f"use --storage-class {'|'.join(_STORAGE_CLASSES)}",
        )
    filters = ListFilter(
        instance_id=instance,
        since=parse_day(since, "--since"),
        until=parse_day(until, "--until"),
        storage_class=storage_class.upper() if storage_class else None,
    )
    opts.aws.check_credentials()
    name = bucket_from(opts, bucket, config)
    rows = Catalog(opts.aws.client("s3"), name).listing(filters)
    if fmt is not ListFormat.table:
        typer.echo(render(rows, fmt), nl=fmt is ListFormat.json)
        return
    table = Table(title=f"Archives in s3://{name} ({len(rows)})")
    for column in ("AMI", "instance", "created", "class", "size", "archived", "restore state"):
        table.add_column(column, no_wrap=column in ("AMI", "instance"))
    for row in rows:
        e = row.entry
        table.add_row(
            e.ami_id,
            e.instance_id,
            f"{e.created:%Y-%m-%d %H:%M}",
            row.state.storage_class if row.state else e.archive.storage_class,
            _size(e.archive.size),
            f"{e.verification.at:%Y-%m-%d %H:%M}",
            row.restore_state,
        )
    console = Console()
    if not console.is_terminal:  # piped: do not fold ids to an assumed 80 columns
        console.width = 160
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("list")(list_archives)

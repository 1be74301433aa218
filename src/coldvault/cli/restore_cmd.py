"""``coldvault restore``: an archive back to a launchable AMI."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import click
import typer
from rich.console import Console
from rich.table import Table

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.aws.ssm import Ssm
from coldvault.catalog import Catalog
from coldvault.cli.catalog_cmd import bucket_from
from coldvault.cli.options import GlobalOptions, OutputFormat, global_options
from coldvault.clock import SystemClock
from coldvault.errors import UsageError
from coldvault.pipeline.services import services_from_session
from coldvault.pricing import Prices
from coldvault.restore import RestoreOptions, RestoreWork, Stage, run_restore
from coldvault.restore.engine import Confirm, Progress
from coldvault.restore.policy import Estimate, parse_tier
from coldvault.restore.steps import summary

if TYPE_CHECKING:
    from coldvault.demo.story import DemoContext

_N = TypeVar("_N", int, float)

_STAGE_TEXT = {
    Stage.RESOLVED: "found in the catalogue",
    Stage.THAWING: "Glacier restore in progress",
    Stage.READABLE: "archive readable",
    Stage.IMAGING: "restore image task running, AMI pending",
    Stage.ENCRYPT: "making an encrypted copy",
    Stage.ENCRYPTING: "encrypted copy pending",
    Stage.DONE: "AMI available",
}


def _size(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**2 else f"{n} bytes"


def _confirm(console: Console, yes: bool, quiet: bool) -> Confirm:
    def confirm(work: RestoreWork, estimate: Estimate) -> None:
        if not quiet:
            table = Table(title=f"Restore {work.source_ami_id}", show_header=False)
            table.add_column("what", style="bold", no_wrap=True)
            table.add_column("value", overflow="fold")
            table.add_row("archive", f"s3://{work.bucket}/{work.archive_key}")
            table.add_row("storage class", work.storage_class)
            table.add_row("size", _size(work.size_bytes))
            if work.tier:
                table.add_row("tier", f"{work.tier} (readable copy kept {work.days} days)")
            table.add_row("expected wait", estimate.expected_wait)
            table.add_row(
                "retrieval cost",
                f"${estimate.total_usd:.4f} (retrieval ${estimate.retrieval_usd:.4f} + temporary copy "
                f"${estimate.temporary_copy_usd:.4f}; prices of {estimate.prices_date}, us-east-1)",
            )
            table.add_row("new AMI name", work.name)
            table.add_row("encrypted", "yes: the original was encrypted" if work.encrypt else "no")
            if work.tags_dropped:
                table.add_row("tags not kept", ", ".join(work.tags_dropped) + " (EC2 allows 50)")
            console.print(table)
        if yes:
            return
        if not sys.stdin.isatty():
            raise UsageError("confirmation needed but there is no terminal", hint="pass --yes")
        if not typer.confirm("Restore this archive?"):
            raise click.exceptions.Abort  # the CLI's edge prints "aborted" and exits 1

    return confirm


def _progress(console: Console, quiet: bool) -> Progress:
    last: list[tuple[Stage, str]] = []

    def show(work: RestoreWork) -> None:
        key = (work.stage, work.image_id or work.plain_image_id)
        if quiet or (last and last[-1] == key):
            return
        last.append(key)
        detail = f" ({key[1]})" if key[1] else ""
        console.print(f"{work.source_ami_id}: {_STAGE_TEXT.get(work.stage, work.stage.value)}{detail}")

    return show


def _number(value: str, flag: str, kind: type[_N]) -> _N:
    try:
        number = kind(value)
    except ValueError:
        raise UsageError(f"{flag} must be a number, not {value!r}", hint=f"for example {flag} 3") from None
    if not math.isfinite(number):
        raise UsageError(f"{flag} must be a finite number, not {value!r}")
    return number


def _queue_url(opts: GlobalOptions, queue_url: str | None, config: str | None) -> str | None:
    if queue_url or not config:
        return queue_url
    return Ssm(opts.aws.client("ssm")).parameters(config).get("queue-url") or None


def restore(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="AMI id, recovery point ARN or archive key.")],
    tier: Annotated[
        str, typer.Option("--tier", help="Expedited | Standard | Bulk (Glacier classes).")
    ] = "Standard",
    days: Annotated[
        str, typer.Option("--days", metavar="N", help="Days the restored Glacier copy stays readable.")
    ] = "3",
    name: Annotated[str | None, typer.Option("--name", help="Name of the new AMI.")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")] = None,
    config: Annotated[str | None, typer.Option("--config", help="SSM path holding the settings.")] = None,
    kms_key_id: Annotated[
        str | None,
        typer.Option("--kms-key-id", help="KMS key for an encrypted original (default: EBS default)."),
    ] = None,
    queue_url: Annotated[
        str | None, typer.Option("--queue-url", help="SQS queue for the status message.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the AMI is available.")] = False,
    deadline_hours: Annotated[
        str, typer.Option("--deadline-hours", metavar="HOURS", help="Give up waiting after this.")
    ] = "72",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    prices: Annotated[
        str | None, typer.Option("--prices", metavar="FILE", help="JSON file overriding the price table.")
    ] = None,
) -> None:
    """Restore an archive as a new AMI (Glacier restore first when needed); rerunning is safe."""
    opts = global_options(ctx)
    options = RestoreOptions(
        tier=parse_tier(tier),
        days=_number(days, "--days", int),
        name=name,
        kms_key_id=kms_key_id,
        deadline_seconds=_number(deadline_hours, "--deadline-hours", float) * 3600,
    )
    options.validate()
    price_table = Prices.load(prices)
    opts.aws.check_credentials()
    archive_bucket = bucket_from(opts, bucket, config)
    options = RestoreOptions(**{**options.__dict__, "queue_url": _queue_url(opts, queue_url, config)})
    svc = services_from_session(opts.aws, clock=SystemClock())
    console = Console(stderr=opts.output is OutputFormat.json)
    work = run_restore(
        svc,
        options,
        ref,
        bucket=archive_bucket,
        wait=wait,
        confirm=_confirm(console, yes, opts.quiet),
        progress=_progress(console, opts.quiet),
        prices=price_table,
    )
    result = summary(work)
    if opts.output is OutputFormat.json:
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(_final_line(work))


def _final_line(work: RestoreWork) -> str:
    if work.stage is Stage.DONE:
        how = "returned the AMI restored before" if work.adopted else "restored"
        crypt = ""
        if work.encrypted:
            key = f" with KMS key {work.kms_key_id}" if work.kms_key_id else ""
            checked = "" if work.encryption_verified else " (requested; the API did not report it)"
            crypt = f", encrypted{key}{checked}"
        return f"{how} {work.source_ami_id} as {work.image_id} ({work.name}), available{crypt}"
    if work.stage is Stage.THAWING:
        return (
            f"Glacier restore of {work.archive_key} {work.thaw}; run the same command again later "
            "(or with --wait): it continues where this left off"
        )
    return f"{work.image_id or work.plain_image_id} is {work.image_state}; rerun with --wait to follow it"


def register(app: typer.Typer) -> None:
    app.command("restore")(restore)


class _SandboxTime:
    """The demo's clock: waiting moves the sandbox's virtual clock on instead of sleeping."""

    def __init__(self, endpoint_url: str) -> None:
        from coldvault.sandbox.admin import SandboxAdmin

        self._admin = SandboxAdmin(endpoint_url)
        self._mono = 0.0

    def now(self) -> datetime:
        return datetime.fromisoformat(self._admin.clock()["now"])

    def sleep(self, seconds: float) -> None:
        self._mono += seconds
        self._admin.advance_clock(seconds)

    def monotonic(self) -> float:
        return self._mono


def _demo_bucket(ctx: DemoContext, s3: S3) -> str | None:
    """The bucket the demo archived into: named by an earlier step, else the first with a catalogue."""
    for key in ("archive_bucket", "bucket", "cloud_bucket"):
        if ctx.data.get(key):
            return str(ctx.data[key])
    for bucket in s3.bucket_names():
        if next(s3.iter_keys(bucket, keys.MANIFEST_PREFIX), None) is not None:
            return bucket
    return None


def demo_restore(ctx: DemoContext) -> None:
    """``coldvault demo``'s restore step, ``(ctx: DemoContext) -> None``: list the catalogue, restore one
    archive (Glacier restore first when it needs one) to an available AMI, then show that restoring it
    again returns the same AMI. Waits run on the sandbox's virtual clock."""
    console = ctx.console
    aws = ctx.aws
    svc = services_from_session(aws, clock=_SandboxTime(ctx.endpoint_url))
    bucket = _demo_bucket(ctx, svc.s3)
    if bucket is None:
        console.print("no archive to restore (the archive step archived nothing)")
        return
    rows = Catalog(svc.s3.client, bucket).listing()
    table = Table(title=f"Catalogue of s3://{bucket} ({len(rows)} archives, newest 5)")
    for column in ("AMI", "instance", "class", "restore state"):
        table.add_column(column, no_wrap=True)
    for row in rows[:5]:
        table.add_row(
            row.entry.ami_id, row.entry.instance_id, row.entry.archive.storage_class, row.restore_state
        )
    console.print(table)
    if not rows:
        return
    chosen = next((r for r in rows if r.entry.archive.storage_class in ("GLACIER", "DEEP_ARCHIVE")), rows[0])
    options = RestoreOptions(
        tier="Bulk" if chosen.entry.archive.storage_class != "GLACIER_IR" else "Standard"
    )
    work = run_restore(
        svc,
        options,
        chosen.entry.ami_id,
        bucket=bucket,
        wait=True,
        confirm=_confirm(console, yes=True, quiet=False),
        progress=_progress(console, quiet=False),
    )
    console.print(_final_line(work), markup=False)
    again = run_restore(
        svc,
        options,
        chosen.entry.archive.key,
        bucket=bucket,
        wait=True,
        confirm=_confirm(console, True, True),
    )
    console.print(
        f"restoring it again returns the same AMI: {again.image_id} (nothing new made)", markup=False
    )
    ctx.data["restored_image_id"] = work.image_id

"""``coldvault restore-test``: prove archives restore — restore, check, record the evidence, clean up."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coldvault import keys, restore_test
from coldvault.catalog import Catalog
from coldvault.cli.catalog_cmd import bucket_from
from coldvault.cli.options import example, global_options, with_global_options
from coldvault.cli.restore_cmd import _number, _progress, _size
from coldvault.clock import SystemClock
from coldvault.errors import UsageError
from coldvault.pipeline.services import services_from_session
from coldvault.pricing import Prices
from coldvault.restore.policy import RestoreOptions, parse_tier


def restore_test_command(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None, typer.Argument(help="Archives to test: AMI ids, recovery point ARNs or keys.")
    ] = None,
    sample: Annotated[
        int | None, typer.Option("--sample", metavar="N", help="Test N archives (never tested first).")
    ] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")] = None,
    config: Annotated[str | None, typer.Option("--config", help="SSM path holding the settings.")] = None,
    tier: Annotated[
        str, typer.Option("--tier", help="Expedited | Standard | Bulk (Glacier classes).")
    ] = "Bulk",
    deadline_hours: Annotated[
        str, typer.Option("--deadline-hours", metavar="HOURS", help="Give up waiting after this.")
    ] = "72",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    prices: Annotated[
        str | None, typer.Option("--prices", metavar="FILE", help="JSON file overriding the price table.")
    ] = None,
) -> None:
    """Restore archives as AMIs, check them against their manifests, record the evidence in the
    catalogue, then deregister the AMIs and delete their snapshots. Exit 1 if any test failed."""
    opts = global_options(ctx)
    names = list(refs or [])
    if bool(names) == (sample is not None):
        raise UsageError(
            "give either archives to test or --sample N", hint="e.g. coldvault restore-test --sample 2"
        )
    if sample is not None and sample < 1:
        raise UsageError(f"--sample must be 1 or more, not {sample}", hint="e.g. --sample 2")
    options = RestoreOptions(
        tier=parse_tier(tier),
        days=1,
        deadline_seconds=_number(deadline_hours, "--deadline-hours", float) * 3600,
    )
    options.validate()
    price_table = Prices.load(prices)
    opts.aws.check_credentials()
    name = bucket_from(opts, bucket, config)
    svc = services_from_session(opts.aws, clock=SystemClock())
    console = opts.err()
    chosen = restore_test.choose(Catalog(svc.s3.client, name), svc.s3, names, sample or 0)
    planned = restore_test.estimates(svc, options, chosen, name, price_table)
    table = Table(title=f"Restore test of {len(chosen)} archive(s) from s3://{name}")
    for column in ("AMI", "class", "size", "tier", "expected wait", "cost"):
        table.add_column(column)
    for work, estimate in planned:
        table.add_row(
            work.source_ami_id,
            work.storage_class,
            _size(work.size_bytes),
            work.tier or "-",
            estimate.expected_wait,
            f"${estimate.total_usd:.4f}",
        )
    if not opts.quiet:
        console.print(table)
        total = sum(e.total_usd for _, e in planned)
        console.print(
            f"Each AMI is restored, checked, then deregistered with its snapshots; retrieval about "
            f"${total:.4f} in all. The result is recorded under {keys.RESTORE_TEST_PREFIX}."
        )
    if not yes:
        if not console.is_terminal and not typer.get_text_stream("stdin").isatty():
            raise UsageError("confirmation needed but there is no terminal", hint="pass --yes")
        if not typer.confirm("Run the restore test?"):
            raise typer.Abort
    run_id = uuid.uuid4().hex[:12]
    progress = _progress(console, opts.quiet)
    results = [
        restore_test.restore_and_check(svc, options, entry, bucket=name, run_id=run_id, progress=progress)
        for entry in chosen
    ]
    doc = {"bucket": name, "run_id": run_id, "tests": [r.to_json() for r in results]}

    def lines(out: Console) -> None:
        for r in results:
            j = r.to_json()
            if r.skipped:
                out.print(f"{j['ami_id']}: skipped: {r.skipped}", markup=False)
            else:
                how = "[green]succeeded[/]" if r.ok else f"[red]failed[/]: {j['error']}"
                out.print(f"{j['ami_id']}: {how}; evidence s3://{name}/{j['evidence_key']}", highlight=False)

    passed = sum(1 for r in results if r.ok)
    opts.emit(doc, table=lines, summary=f"{passed} of {len(results)} restore tests succeeded")
    if any(not r.ok and not r.skipped for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(
        "restore-test",
        epilog=example(
            "coldvault restore-test --bucket my-archive --sample 2 --yes",
            "coldvault restore-test --bucket my-archive ami-0123456789abcdef0 --tier Standard",
        ),
    )(with_global_options(restore_test_command))

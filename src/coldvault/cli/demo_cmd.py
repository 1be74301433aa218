"""``coldvault demo``: the command; the demo itself is :mod:`coldvault.demo`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from coldvault.cli.options import example, global_options, with_global_options


def demo(
    ctx: typer.Context,
    instances: Annotated[
        int, typer.Option("--instances", min=1, max=200, help="Instances in the demo fleet.")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed number of the demo fleet.")] = 0,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Recovery points shown in the table.")] = 20,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", file_okay=False, help="Where the demo writes its cost chart (HTML).")
    ] = Path(),
) -> None:
    """Show coldvault end to end on an offline sandbox (nothing touches AWS, nothing stays running)."""
    from coldvault.demo import STEPS, run_demo  # the sandbox is imported only when the demo runs

    opts = global_options(ctx)
    # The story is the table view; with another format (or --quiet) it goes to stderr.
    console = opts.err() if opts.machine or opts.quiet else opts.console()
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    done = run_demo(console, instances=instances, seed=seed, rows=rows, out_dir=out_dir.resolve())
    seconds = round(time.monotonic() - started, 1)
    report = done.data.get("archive_report")
    outcome = done.data.get("cloud_outcome")
    doc = {
        "seconds": seconds,
        "steps": [title for title, _ in STEPS],
        "vault": done.vault_name,
        "recovery_points": (done.data.get("seed") or {}).get("recovery_points"),
        "archive_totals": report.totals() if report is not None else None,
        "cloud_counts": getattr(outcome, "counts", None),
        "restored_image_id": done.data.get("restored_image_id"),
        "savings_page": str(done.data["savings_page"]) if done.data.get("savings_page") else None,
    }
    opts.emit(doc, table=lambda _: None, summary=f"demo finished in {seconds:.1f}s")


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        epilog=example("coldvault demo", "coldvault demo --instances 4 --output json --query archive_totals"),
    )(with_global_options(demo))

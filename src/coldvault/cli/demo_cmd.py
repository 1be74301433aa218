"""``coldvault demo``: the command; the demo itself is :mod:`coldvault.demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def demo(
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
    from coldvault.demo import run_demo  # the sandbox is imported only when the demo runs

    out_dir.mkdir(parents=True, exist_ok=True)
    run_demo(Console(), instances=instances, seed=seed, rows=rows, out_dir=out_dir.resolve())


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

"""``coldvault demo``: the command; the demo itself is :mod:`coldvault.demo`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def demo(
    instances: Annotated[
        int, typer.Option("--instances", min=1, max=200, help="Instances in the demo fleet.")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed number of the demo fleet.")] = 0,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Recovery points shown in the table.")] = 20,
) -> None:
    """Show coldvault end to end on an offline sandbox (nothing touches AWS, nothing stays running)."""
    from coldvault.demo import run_demo  # the sandbox is imported only when the demo runs

    run_demo(Console(), instances=instances, seed=seed, rows=rows)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

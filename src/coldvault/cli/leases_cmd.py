"""``coldvault leases``: the per-point leases in an archive bucket, listed and released.

A lease keeps two runs off one recovery point (:mod:`coldvault.lease`). Its holder renews it while it
works on the point, so a lease whose holder stopped (killed, crashed on another host, a failed state
machine) expires within ``lease_seconds`` by itself; ``release`` frees it at once. Only a lease that
has expired or whose holder is known to be gone is released: a live lease may be of a point in the
middle of a copy, and freeing it would let a second runner work on that point. ``--force`` releases
live ones too, for a holder the operator knows is gone (on another host, where coldvault cannot tell).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coldvault import lease
from coldvault.aws.s3 import S3
from coldvault.cli.archive_cmd import _stale_lease
from coldvault.cli.options import GlobalOptions, OutputFormat, global_options
from coldvault.clock import SystemClock
from coldvault.errors import UsageError

app = typer.Typer(
    name="leases",
    help="List the per-point leases in an archive bucket, or release them.",
    no_args_is_help=False,
)

BucketOpt = Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")]


def _bucket(ctx: typer.Context, bucket: str | None) -> str:
    parent = ctx.parent.params.get("bucket") if ctx.parent is not None else None
    chosen = bucket or parent
    if not chosen:
        raise UsageError("no archive bucket given", hint="pass --bucket NAME")
    return str(chosen)


def _held(opts: GlobalOptions, bucket: str) -> list[lease.Held]:
    opts.aws.check_credentials()
    return lease.held_leases(S3(opts.aws.client("s3")), bucket)


def _show(opts: GlobalOptions, bucket: str, held: list[lease.Held]) -> None:
    now = SystemClock().now()
    if opts.output is OutputFormat.json:
        docs = [{**h.to_json(), "state": h.state(now, _stale_lease)} for h in held]
        print(json.dumps({"bucket": bucket, "leases": docs}, indent=1))
        return
    console = Console(quiet=opts.quiet, highlight=False)
    if not held:
        console.print(f"No leases in {bucket}.")
        return
    table = Table(title=f"Leases in {bucket}")
    for column in ("AMI", "state", "run", "holder", "renewed (UTC)", "expires (UTC)"):
        table.add_column(column, no_wrap=column == "AMI")
    for h in held:
        holder = f"{h.host}:{h.pid}" if h.pid else h.host
        table.add_row(
            h.ami_id, h.state(now, _stale_lease), h.run_id, holder, h.renewed_at[:19], h.expires_at[:19]
        )
    console.print(table)


@app.callback(invoke_without_command=True)
def leases_cmd(ctx: typer.Context, bucket: BucketOpt = None) -> None:
    """List the leases: which run holds which recovery point, until when, and whether it is live.

    Example: coldvault leases --bucket my-archive
    """
    if ctx.invoked_subcommand is not None:
        return
    opts = global_options(ctx)
    name = _bucket(ctx, bucket)
    _show(opts, name, _held(opts, name))


@app.command("list")
def list_cmd(ctx: typer.Context, bucket: BucketOpt = None) -> None:
    """List the leases (the same as ``coldvault leases``)."""
    opts = global_options(ctx)
    name = _bucket(ctx, bucket)
    _show(opts, name, _held(opts, name))


@app.command("release")
def release_cmd(
    ctx: typer.Context,
    ami_ids: Annotated[list[str] | None, typer.Argument(help="The AMIs whose leases to release.")] = None,
    bucket: BucketOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Release every lease that may be released.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also release live leases (their holder must really be gone).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Release leases that expired or whose holder is gone (live ones only with --force).

    Example: coldvault leases release --bucket my-archive --all --yes
    """
    opts = global_options(ctx)
    name = _bucket(ctx, bucket)
    if not ami_ids and not all_:
        raise UsageError("say which leases to release", hint="pass AMI ids, or --all")
    if ami_ids and all_:
        raise UsageError("pass AMI ids or --all, not both", hint="leave out one of them")
    held = _held(opts, name)
    if ami_ids:
        known = {h.ami_id for h in held}
        missing = [a for a in ami_ids if a not in known]
        if missing:
            raise UsageError(
                f"no lease for {', '.join(missing)} in {name}", hint=f"coldvault leases --bucket {name}"
            )
        held = [h for h in held if h.ami_id in ami_ids]
    now = SystemClock().now()
    err = Console(stderr=True, highlight=False)
    chosen = [h for h in held if force or h.state(now, _stale_lease) != "live"]
    for h in held:
        if h not in chosen:
            err.print(
                f"{h.ami_id}: held by run {h.run_id} ({h.host}:{h.pid}), renewed {h.renewed_at[:19]}, "
                f"live until {h.expires_at[:19]}: left alone (maybe mid-copy; --force if that run is gone)",
                markup=False,
            )
    if not chosen:
        Console(quiet=opts.quiet).print("Nothing to release.")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "leases release asks for confirmation", hint="pass --yes to run without a terminal"
            )
        typer.confirm(f"Release {len(chosen)} lease(s) in {name}?", abort=True)
    s3 = S3(opts.aws.client("s3"))
    released = [h.ami_id for h in chosen if lease.remove(s3, name, h)]
    changed = [h.ami_id for h in chosen if h.ami_id not in released]
    if opts.output is OutputFormat.json:
        print(json.dumps({"bucket": name, "released": released, "changed_meanwhile": changed}))
    else:
        out = Console(quiet=opts.quiet, highlight=False)
        out.print(f"Released {len(released)} lease(s) in {name}.")
        for ami in changed:
            out.print(f"{ami}: renewed or taken since it was listed: left alone")
    if changed:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="leases")

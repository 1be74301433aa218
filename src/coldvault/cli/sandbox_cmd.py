"""``coldvault sandbox``: run the offline AWS sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated, Any

import typer
from rich.console import Console

from coldvault.cli.options import example, global_options, with_global_options
from coldvault.errors import UsageError

GB = 1_000_000_000
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    # boto3 and AWS CLI v1 read only AWS_DEFAULT_REGION; AWS CLI v2 and other SDKs read AWS_REGION.
    "AWS_DEFAULT_REGION": "us-east-1",
}


def sandbox(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = 4566,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Create a demo fleet and vault at start.")
    ] = True,
    seed_number: Annotated[
        int, typer.Option("--seed-number", help="Makes the seeded fleet reproducible.")
    ] = 0,
    instances: Annotated[int, typer.Option("--instances", min=0, help="Instances in the seeded fleet.")] = 8,
    lock_days: Annotated[
        int | None,
        typer.Option("--vault-lock-days", min=1, help="Lock the seeded vault with this minimum retention."),
    ] = None,
    backup_rate: Annotated[
        float | None, typer.Option("--backup-rate", min=0.0, help="Backup jobs: GB per virtual second.")
    ] = None,
    store_rate: Annotated[
        float | None, typer.Option("--store-rate", min=0.0, help="Store image tasks: GB per virtual second.")
    ] = None,
    restore_rate: Annotated[
        float | None,
        typer.Option("--restore-rate", min=0.0, help="Restore image tasks: GB per virtual second."),
    ] = None,
    size_scale: Annotated[
        float | None,
        typer.Option("--size-scale", min=0.0, help="Archive object size = AMI size × this (e.g. 1e-6)."),
    ] = None,
) -> None:
    """Run the offline AWS sandbox (moto + coldvault's additions) until Ctrl-C."""
    from coldvault.sandbox import admin
    from coldvault.sandbox.server import SandboxServer

    settings: dict[str, Any] = {}
    for name, value in (
        ("backup_bytes_per_second", backup_rate),
        ("store_bytes_per_second", store_rate),
        ("restore_bytes_per_second", restore_rate),
    ):
        if value is not None:
            if value <= 0:
                raise UsageError(f"--{name.split('_')[0]}-rate must be above 0", hint="e.g. 20 (GB/s)")
            settings[name] = value * GB
    if size_scale is not None:
        settings["size_scale"] = size_scale

    server = SandboxServer(host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}",
            hint="pass --port 0 for any free port, or stop what uses that port",
        ) from exc
    opts = global_options(ctx)
    try:
        admin.update_settings(settings)
        seeded = None
        if seed:
            summary = admin.seed(instances=instances, seed=seed_number, lock_min_retention_days=lock_days)
            seeded = {
                "instances": len(summary["instance_ids"]),
                "recovery_points": summary["recovery_points"],
                "vault": summary["vault_name"],
            }
        doc = {
            "endpoint_url": server.endpoint_url,
            "environment": {"AWS_ENDPOINT_URL": server.endpoint_url, **DUMMY_CREDENTIALS},
            "admin_api": f"{server.endpoint_url}/_coldvault/",
            "seeded": seeded,
        }

        def banner(console: Console) -> None:
            if seeded:
                console.print(
                    f"seeded {seeded['instances']} instances and {seeded['recovery_points']} recovery points "
                    f"in vault [bold]{seeded['vault']}[/bold]"
                )
            _print_banner(console, server.endpoint_url)

        try:  # Ctrl-C as soon as the banner shows (even while it prints) stops it cleanly
            opts.emit(doc, table=banner, summary=server.endpoint_url)
            _wait_for_interrupt()
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()
    opts.err().print("sandbox stopped")


def _print_banner(console: Console, endpoint: str) -> None:
    console.print(f"coldvault sandbox listening on [bold]{endpoint}[/bold]")
    console.print("Use it from another shell:")
    lines = [f"export AWS_ENDPOINT_URL={endpoint}"] + [
        f"export {k}={v}" for k, v in DUMMY_CREDENTIALS.items()
    ]
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"Admin API: {endpoint}/_coldvault/ (see docs/sandbox.md). Press Ctrl-C to stop.")


def _wait_for_interrupt() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    app.command(
        "sandbox",
        epilog=example(
            "coldvault sandbox --seed --port 4566",
            "coldvault sandbox --port 0 --output json --query endpoint_url   (the free port it took)",
        ),
    )(with_global_options(sandbox))

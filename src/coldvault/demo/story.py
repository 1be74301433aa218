"""The demo's story: an in-process sandbox and a sequence of named steps run against it.

Each step is ``(title, function)`` with ``function(ctx: DemoContext) -> None``: seed a fleet, show it,
archive with the CLI engine, archive in the (sandboxed) cloud, restore. The sandbox runs in this process
on a free port and is stopped at the end, whatever happens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from coldvault.aws.session import AwsSession

DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class DemoContext:
    """What the steps share: the sandbox endpoint, the AWS session pointed at it, the console."""

    endpoint_url: str
    env: dict[str, str]
    console: Console
    aws: AwsSession
    vault_name: str = "coldvault-demo"
    instances: int = 8
    seed: int = 0
    rows: int = 20
    data: dict[str, Any] = field(default_factory=dict)  # results one step leaves for the next


Step = tuple[str, Callable[[DemoContext], None]]


def seed_fleet_step(ctx: DemoContext) -> None:
    from coldvault.sandbox.admin import SandboxAdmin

    summary = SandboxAdmin(ctx.endpoint_url).seed(
        instances=ctx.instances, seed=ctx.seed, vault_name=ctx.vault_name
    )
    ctx.data["seed"] = summary
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary["by_status"].items()))
    ctx.console.print(
        f"{len(summary['instance_ids'])} EC2 instances, vault [bold]{ctx.vault_name}[/bold] with "
        f"{summary['recovery_points']} recovery points ({statuses})"
    )


def show_recovery_points_step(ctx: DemoContext) -> None:
    backup = ctx.aws.client("backup")
    paginator = backup.get_paginator("list_recovery_points_by_backup_vault")
    points = [
        p for page in paginator.paginate(BackupVaultName=ctx.vault_name) for p in page["RecoveryPoints"]
    ]
    ctx.data["recovery_points"] = points
    now = datetime.now(UTC)
    table = Table(
        title=f"Recovery points in {ctx.vault_name} (newest {min(ctx.rows, len(points))} of {len(points)})"
    )
    for column, justify in (
        ("Instance", "left"),
        ("Name", "left"),
        ("Age", "right"),
        ("Size", "right"),
        ("State", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    unusable = [p for p in points if p["Status"] not in ("COMPLETED", "AVAILABLE")]
    shown = sorted(points, key=lambda p: p["CreationDate"], reverse=True)[: ctx.rows]
    shown += [p for p in unusable if p not in shown]
    for point in shown:
        resource = str(point["ResourceArn"]).rsplit("/", 1)[-1]
        age = now - point["CreationDate"]
        style = "" if point["Status"] in ("COMPLETED", "AVAILABLE") else "yellow"
        table.add_row(
            resource,
            point.get("ResourceName", "—"),
            f"{age.days}d {age.seconds // 3600}h",
            f"{point.get('BackupSizeInBytes', 0) / 1024**3:,.0f} GiB",
            point["Status"],
            style=style,
        )
    ctx.console.print(table)
    total = sum(p.get("BackupSizeInBytes", 0) for p in points) / 1024**4
    ctx.console.print(
        f"{len(points)} points, {total:,.1f} TiB in total; {len(unusable)} not usable (skipped by archive)"
    )


DEMO_BUCKET = "coldvault-demo-archive"
DEMO_OLDER_THAN_DAYS = 90


def archive_step(ctx: DemoContext) -> None:
    """Plan, then archive every usable point older than 90 days into GLACIER_IR, with live progress."""
    from coldvault.aws.artifacts import Artifacts
    from coldvault.demo.archive import demo_archive
    from coldvault.sandbox.admin import SandboxAdmin

    # Stores of 100-500 GiB AMIs take minutes in AWS; the demo runs the sandbox's time faster.
    SandboxAdmin(ctx.endpoint_url).update_settings(store_bytes_per_second=400e9)
    Artifacts(ctx.aws.client("s3"), ctx.aws.region_name).ensure_bucket(DEMO_BUCKET)
    ctx.console.print(
        f"bucket [bold]{DEMO_BUCKET}[/bold] (private, encrypted); archiving points older than "
        f"{DEMO_OLDER_THAN_DAYS} days"
    )
    report = demo_archive(
        ctx.aws,
        vault=ctx.vault_name,
        bucket=DEMO_BUCKET,
        older_than_days=DEMO_OLDER_THAN_DAYS,
        console=ctx.console,
    )
    ctx.data["archive_bucket"] = DEMO_BUCKET
    ctx.data["archive_report"] = report


def cloud_step(ctx: DemoContext) -> None:
    from coldvault.cli.cloud_cmd import demo_cloud

    demo_cloud(ctx)


def restore_step(ctx: DemoContext) -> None:
    from coldvault.cli.restore_cmd import demo_restore

    demo_restore(ctx)


STEPS: list[Step] = [
    ("Seed a fleet into the sandbox", seed_fleet_step),
    ("Recovery points in the vault", show_recovery_points_step),
    ("Plan and archive points older than 90 days (CLI engine)", archive_step),
    ("Archive in the cloud: deploy the stack, run it, report", cloud_step),
    ("Restore an archive to a launchable AMI", restore_step),
]


@contextmanager
def demo_environment(endpoint_url: str) -> Iterator[dict[str, str]]:
    """Dummy credentials and the sandbox endpoint in os.environ for the demo, restored afterwards."""
    env = {**DEMO_ENV, "AWS_ENDPOINT_URL": endpoint_url}
    saved = {name: os.environ.get(name) for name in [*env, "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(env)
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_demo(
    console: Console, *, instances: int = 8, seed: int = 0, rows: int = 20, steps: list[Step] | None = None
) -> DemoContext:
    """Start the sandbox, run every step, stop the sandbox; returns the context for inspection."""
    from coldvault.sandbox.server import SandboxServer

    started = time.monotonic()
    with SandboxServer(port=0) as server, demo_environment(server.endpoint_url) as env:
        console.print(f"[dim]sandbox running in-process at {server.endpoint_url}[/dim]")
        ctx = DemoContext(
            endpoint_url=server.endpoint_url,
            env=env,
            console=console,
            aws=AwsSession(region=env["AWS_REGION"], endpoint_url=server.endpoint_url),
            instances=instances,
            seed=seed,
            rows=rows,
        )
        for number, (title, step) in enumerate(steps if steps is not None else STEPS, start=1):
            console.rule(f"[bold]{number}. {title}")
            step_started = time.monotonic()
            step(ctx)
            console.print(f"[dim]step {number} took {time.monotonic() - step_started:.1f}s[/dim]")
    console.print(
        f"[green]demo finished in {time.monotonic() - started:.1f}s; the sandbox is stopped[/green]"
    )
    return ctx

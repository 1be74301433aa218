"""``coldvault audit``: every archive's chain of custody, checked against S3 and AWS Backup; exit 1 on
any inconsistency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from coldvault import audit_page
from coldvault.audit import Auditor, AuditResult, Policy
from coldvault.aws.backup import Backup
from coldvault.aws.s3 import S3
from coldvault.cli.catalog_cmd import bucket_from, parse_day
from coldvault.cli.options import OutputFormat, example, global_options, with_global_options
from coldvault.clock import SystemClock
from coldvault.errors import UsageError

_MODES = ("GOVERNANCE", "COMPLIANCE")


def csv_records(result: AuditResult) -> list[dict[str, Any]]:
    """One record per archive (lists joined with ``;``), then one per finding that names no archive."""
    records = [a.to_json() for a in result.archives]
    for r in records:
        r["restore_tests"] = ";".join(
            f"{t['at']} {'ok' if t['succeeded'] else 'failed'}" for t in r["restore_tests"]
        )
        r["findings"] = ";".join(r["findings"])
    known = {a.manifest.ami_id for a in result.archives}
    records += [
        {"ami_id": f.subject, "findings": f.kind.name.lower()}
        for f in result.findings
        if f.subject not in known
    ]
    return records


def _table(result: AuditResult, console: Console) -> None:
    table = Table(title=f"Audit of s3://{result.bucket} ({len(result.archives)} archives)")
    for column in ("AMI", "created", "class", "verified", "point deleted", "lock", "restore test", "status"):
        table.add_column(column, no_wrap=column == "AMI")
    for a in result.archives:
        j = a.to_json()
        tests = [t for t in a.restore_tests if t.succeeded]
        table.add_row(
            a.manifest.ami_id,
            f"{a.manifest.created:%Y-%m-%d}",
            a.manifest.archive.storage_class,
            f"{a.manifest.verification.at:%Y-%m-%d}" if a.manifest.verified else "no",
            (j["deletion_confirmed_at"] or "")[:10] or a.manifest.deletion.reason,
            f"{j['lock_mode']} {j['lock_retain_until'][:10]}" if j["lock_mode"] else "none",
            f"{tests[-1].at:%Y-%m-%d}" if tests else "",
            ", ".join(f.kind.value for f in a.findings) or "[green]ok[/]",
        )
    console.print(table)
    for f in result.findings:
        console.print(f"[red]finding:[/] {f.kind.value}: {f.subject}: {f.detail}", highlight=False)
    calls = ", ".join(f"{name} {n}" for name, n in sorted(result.calls.items()))
    verdict = "[green]no inconsistency[/]" if result.ok else f"[red]{len(result.findings)} finding(s)[/]"
    console.print(f"{verdict}; API calls: {calls}")


def audit(
    ctx: typer.Context,
    bucket: Annotated[str | None, typer.Option("--bucket", help="The archive bucket.")] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="SSM Parameter Store path holding the settings.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only recovery points created on/after (ISO date).")
    ] = None,
    retain_days: Annotated[
        int,
        typer.Option("--retain-days", help="Policy: each archive locked until creation + DAYS (0: none)."),
    ] = 0,
    retention_mode: Annotated[
        str | None, typer.Option("--retention-mode", help="Policy: GOVERNANCE | COMPLIANCE lock mode.")
    ] = None,
    restore_test_days: Annotated[
        int,
        typer.Option("--restore-test-days", help="Policy: a successful restore test within DAYS (0: none)."),
    ] = 90,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the audit as an HTML page.")] = None,
) -> None:
    """Every archive's chain of custody from the catalogue, checked against S3 and AWS Backup.

    Read-only. Exits 1 when an inconsistency is found, 0 otherwise."""
    opts = global_options(ctx)
    if retain_days < 0 or restore_test_days < 0:
        raise UsageError(
            "--retain-days and --restore-test-days must be 0 or more", hint="use 0 for no requirement"
        )
    mode = (retention_mode or "").upper()
    if mode and mode not in _MODES:
        raise UsageError(
            f"invalid retention mode {retention_mode!r}", hint="use --retention-mode GOVERNANCE|COMPLIANCE"
        )
    policy = Policy(
        retain_days=retain_days,
        retention_mode=mode,
        restore_test_days=restore_test_days,
        since=parse_day(since, "--since"),
    )
    if html is not None and not html.parent.is_dir():
        raise UsageError(
            f"--html {html}: no such directory {html.parent}", hint="give a path in an existing directory"
        )
    aws = opts.aws
    aws.check_credentials()
    name = bucket_from(opts, bucket, config)
    auditor = Auditor(S3(aws.client("s3")), Backup(aws.client("backup")), name, aws.region_name)
    result = auditor.run(policy, SystemClock().now())
    if html is not None:
        html.write_text(audit_page.render(result), encoding="utf-8")
    csv = opts.format is OutputFormat.csv and opts.query is None
    opts.emit(
        csv_records(result) if csv else result.to_json(),
        table=lambda console: _table(result, console),
        summary=f"{len(result.archives)} archives, {len(result.findings)} findings in s3://{name}",
    )
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(
        "audit",
        epilog=example(
            "coldvault audit --bucket my-archive --html audit.html",
            "coldvault audit --bucket my-archive --since 2026-01-01 --retain-days 180 --output json",
        ),
    )(with_global_options(audit))

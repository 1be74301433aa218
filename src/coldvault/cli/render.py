"""Rich output of ``plan`` and ``archive``: tables and the summary (progress: ``progress_view``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from coldvault.pricing import Estimate
from coldvault.progress import size
from coldvault.report import Report
from coldvault.selection import Plan


def plan_json(plan: Plan, estimate: Estimate) -> dict[str, Any]:
    flagged = {e.ami_id for e in estimate.points if e.costs_more}
    return {
        "cutoff": plan.cutoff.isoformat(),
        "listed": plan.listed,
        "too_recent": plan.too_recent,
        "candidates": [
            {
                "recovery_point_arn": p.arn,
                "ami_id": p.ami_id,
                "instance_id": p.instance_id,
                "created": p.creation_date.isoformat(),
                "backup_size_bytes": p.backup_size_bytes,
                "resume_deletion": p.ami_id in plan.resuming,
                "archiving_costs_more": p.ami_id in flagged,
            }
            for p in plan.candidates
        ],
        "skipped": [
            {
                "recovery_point_arn": s.point.arn,
                "ami_id": s.point.ami_id,
                "reason": s.reason.value,
                "detail": s.detail,
            }
            for s in plan.skipped
        ],
        "candidate_bytes": plan.candidate_bytes,
        "estimate": estimate.to_json(),
        "warnings": plan.warnings,
    }


def render_plan(console: Console, plan: Plan, estimate: Estimate) -> None:
    flagged = {e.ami_id for e in estimate.points if e.costs_more}
    table = Table(title=f"Candidates (created before {plan.cutoff:%Y-%m-%d %H:%M} UTC)")
    for column in ("recovery point / AMI", "instance", "created (UTC)", "size", "note"):
        table.add_column(column)
    for p in plan.candidates:
        notes = []
        if p.ami_id in plan.resuming:
            notes.append("archived: resume deletion")
        if p.ami_id in flagged:
            notes.append("[yellow]archiving costs more than keeping[/]")
        table.add_row(
            p.ami_id,
            p.instance_id,
            f"{p.creation_date:%Y-%m-%d %H:%M}",
            size(p.backup_size_bytes),
            "; ".join(notes),
        )
    console.print(table)
    if plan.skipped:
        skipped = Table(title="Skipped")
        for column in ("recovery point", "reason", "detail"):
            skipped.add_column(column)
        for s in plan.skipped:
            skipped.add_row(
                s.point.arn.rsplit("/", 1)[-1] if ":image/" in s.point.arn else s.point.arn,
                s.reason.value,
                s.detail,
            )
        console.print(skipped)
    e = estimate
    console.print(
        f"{len(plan.candidates)} to archive ({size(plan.candidate_bytes)}), {len(plan.skipped)} skipped, "
        f"{plan.too_recent} younger than the cut-off left alone."
    )
    console.print(
        f"Estimated monthly cost ({e.prices_date} prices): vault now up to ${e.vault_month_before_max:,.2f}; "
        f"archiving frees ${e.vault_month_freed_min:,.2f}–${e.vault_month_freed_max:,.2f} and costs "
        f"${e.archive_month_after:,.2f} in {e.storage_class}."
    )
    console.print(f"[dim]{e.to_json()['note']}[/]")
    if e.flagged:
        console.print(f"[yellow]{e.flagged} point(s) cost more to archive than to keep until they expire.[/]")
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def render_summary(console: Console, report: Report, bucket: str) -> None:
    table = Table(title=f"Run {report.run_id}")
    for column in ("AMI", "outcome", "archive key", "class", "bytes", "seconds", "why"):
        table.add_column(column)
    skipped: dict[str, int] = {}
    for i in report.items:
        if i.get("outcome") == "skipped":
            reason = str(i.get("skip_reason", "")).split(":", 1)[0]
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        seconds = sum((i.get("durations_seconds") or {}).values())
        table.add_row(
            str(i.get("ami_id", "")),
            str(i.get("outcome", "")),
            str(i.get("archive_key", "")),
            str(i.get("storage_class", "")) if i.get("archive_key") else "",
            size(int(i.get("archive_bytes") or 0)) if i.get("archive_bytes") else "",
            f"{seconds:.1f}" if seconds else "",
            str(i.get("error") or i.get("deletion_pending") or i.get("skip_reason") or ""),
        )
    console.print(table)
    if skipped:
        console.print("skipped: " + "; ".join(f"{n} {reason}" for reason, n in sorted(skipped.items())))
    t = report.totals()
    console.print(
        f"archived {t['archived']}, retained {t['retained']} (deletion pending), failed {t['failed']}, "
        f"leased by another run {t['leased']}, skipped {t['skipped']}; {size(t['archived_bytes'])} archived "
        f"from {size(t['source_bytes'])} of recovery points."
    )
    if report.estimate:
        e = report.estimate
        console.print(
            f"Estimated monthly cost: vault up to ${e.get('vault_month_before_max', 0):,.2f} before; frees "
            f"${e.get('vault_month_freed_min', 0):,.2f}–${e.get('vault_month_freed_max', 0):,.2f}; archives "
            f"${e.get('archive_month_after', 0):,.2f}."
        )
    console.print(f"Report: s3://{bucket}/{report.keys.get('json', '')} (and .csv)")

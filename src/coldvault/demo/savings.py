"""The demo's savings step: what archiving each point frees and costs, measured, and the cost chart."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from coldvault.aws.session import AwsSession
from coldvault.aws.sts import Sts
from coldvault.cli.savings_view import print_savings, write_html
from coldvault.config import new_run_id
from coldvault.models import SkipReason
from coldvault.pipeline import list_candidates
from coldvault.pipeline.services import services_from_session
from coldvault.pricing import GB, Prices
from coldvault.settings import resolve

PAGE = "coldvault-demo-plan.html"


def demo_savings(
    aws: AwsSession, *, vault: str, bucket: str, older_than_days: float, console: Console, out_dir: Path
) -> Path | None:
    """``plan --select monthly --only-if-saves --html``; the page written (None: no candidates)."""
    svc = services_from_session(aws)
    flags: dict[str, str | bool] = {
        "--vault": vault,
        "--bucket": bucket,
        "--older-than": str(older_than_days),
        "--storage-class": "DEEP_ARCHIVE",
        "--select": "monthly",
        "--only-if-saves": True,
        "--retain-days": "365",
    }
    settings = resolve(flags, {}, path=None, now=svc.clock.now(), run_id=new_run_id())
    settings = settings.with_(account_id=Sts(aws.client("sts")).account_id())
    prices = Prices()
    plan = list_candidates(svc, settings, prices, measure_savings=True)
    savings = plan.savings
    if savings is None or not savings.candidates:
        console.print("no candidates to price")
        return None
    table = Table(title="Monthly points: what archiving each one frees, costs and saves (DEEP_ARCHIVE)")
    for column, justify in (
        ("AMI", "left"),
        ("instance", "left"),
        ("frees", "right"),
        ("archive", "right"),
        ("$/month", "right"),
        ("break-even", "right"),
        ("decision", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in sorted(savings.candidates, key=lambda c: (c.point.instance_id, c.point.creation_date))[:12]:
        even = c.assessment.break_even_days
        table.add_row(
            c.point.ami_id,
            c.point.instance_id,
            "range" if c.freed_bytes is None else f"{c.freed_bytes / GB:,.1f} GB",
            f"{c.assessment.archive_bytes_estimate / GB:,.1f} GB",
            f"{c.assessment.monthly_saving_usd:,.3f}",
            "never" if even is None else f"{even:,.0f} d",
            "archive" if c.archive else "[yellow]keep[/]",
        )
    console.print(table)
    print_savings(console, savings)
    kept = next((c for c in savings.candidates if not c.archive), None)
    if kept is not None:
        console.print(f"Why keep {kept.point.ami_id}: {kept.reason}.", markup=False)
    chosen = next((c for c in savings.candidates if c.archive), None)
    if chosen is not None:
        console.print(f"Why archive {chosen.point.ami_id}: {chosen.reason}.", markup=False)
    later = [s for s in plan.skipped if s.reason is SkipReason.NOT_SELECTED]
    if later:
        console.print(
            f"{len(later)} points are not the last of their month (for example {later[0].point.ami_id}: "
            f"{later[0].detail}): they stay in the vault.",
            markup=False,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / PAGE
    write_html(str(page), savings, prices=prices, storage_class="DEEP_ARCHIVE", vault=vault)
    console.print(f"The cost chart: {page} (open it in a browser)")
    return page

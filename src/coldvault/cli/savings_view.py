"""How ``plan`` shows the money: per candidate and in total, as JSON and as lines for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from coldvault.pricing import GB, Prices
from coldvault.savings import page
from coldvault.savings.estimate import RANGE, CandidateSavings, Savings


def candidate_json(c: CandidateSavings) -> dict[str, Any]:
    """The documented per-candidate figures (docs/archive.md, "What archiving saves")."""
    a = c.assessment
    return {
        "ami_id": c.point.ami_id,
        "instance_id": c.point.instance_id,
        "method": c.method,
        "freed_bytes": c.freed_bytes,
        "held_bytes": c.held_bytes,
        "archive_bytes_estimate": a.archive_bytes_estimate,
        "keep_month_usd": round(a.keep_month_usd, 6),
        "archive_month_usd": round(a.archive_month_usd, 6),
        "monthly_saving_usd": round(a.monthly_saving_usd, 6),
        "one_off_usd": round(a.one_off_usd, 6),
        "break_even_days": None if a.break_even_days is None else round(a.break_even_days, 1),
        "horizon_days": round(a.horizon_days, 1),
        "saving_over_horizon_usd": round(a.saving_over_horizon_usd, 4),
        "decision": "archive" if c.archive else "keep",
        "reason": c.reason,
    }


def savings_json(savings: Savings | None) -> dict[str, Any] | None:
    if savings is None:
        return None
    chosen = savings.chosen()
    return {
        "method": savings.method,
        "fallback_reason": savings.fallback_reason or None,
        "ebs_requests": savings.ebs_calls,
        "ebs_requests_usd": round(savings.ebs_cost_usd, 6),
        "compression": round(savings.compression, 4),
        "compression_source": savings.compression_source,
        "freed_bytes_all": None if savings.method == RANGE else savings.freed_all_bytes,
        "freed_bytes_chosen": None if savings.method == RANGE else savings.freed_selected_bytes,
        "archive_bytes_chosen": sum(c.assessment.archive_bytes_estimate for c in chosen),
        "monthly_saving_usd_chosen": round(sum(c.assessment.monthly_saving_usd for c in chosen), 4),
        "saving_over_horizon_usd_chosen": round(sum(c.assessment.saving_over_horizon_usd for c in chosen), 4),
        "archived": len(chosen),
        "kept": len(savings.candidates) - len(chosen),
        "candidates": [candidate_json(c) for c in savings.candidates],
    }


def print_savings(console: Console, savings: Savings | None) -> None:
    """A few lines under the plan's tables."""
    if savings is None or not savings.candidates:
        return
    chosen = savings.chosen()
    if savings.method == RANGE:
        console.print(f"Savings are ranges: {savings.fallback_reason}.", markup=False)
    else:
        console.print(
            f"Measured with {savings.ebs_calls:,} EBS direct API requests (${savings.ebs_cost_usd:.4f}): "
            f"archiving the {len(chosen)} chosen frees {savings.freed_selected_bytes / GB:,.1f} GB of vault "
            f"blocks (all {len(savings.candidates)} would free {savings.freed_all_bytes / GB:,.1f} GB).",
            markup=False,
        )
    monthly = sum(c.assessment.monthly_saving_usd for c in chosen)
    horizon = sum(c.assessment.saving_over_horizon_usd for c in chosen)
    console.print(
        f"Saves ${monthly:,.2f} a month once archived, ${horizon:,.2f} over the points' retention "
        f"({len(savings.candidates) - len(chosen)} kept because archiving would not pay).",
        markup=False,
    )


def write_html(path: str, savings: Savings, *, prices: Prices, storage_class: str, vault: str) -> None:
    horizon = max((c.assessment.horizon_days for c in savings.candidates), default=365.0)
    Path(path).write_text(
        page.render(
            savings,
            prices=prices,
            storage_class=storage_class,
            horizon_days=max(horizon, 1.0),
            title=f"coldvault plan: {vault}",
            subtitle=f"{len(savings.candidates)} candidates, {storage_class}, prices of {prices.date}",
        )
    )

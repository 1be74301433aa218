"""``plan --html``: what archiving the candidates costs and saves over the horizon, on one page."""

from __future__ import annotations

from coldvault import html_page as h
from coldvault.pricing import DAYS_PER_MONTH, GB, Prices
from coldvault.savings.estimate import RANGE, CandidateSavings, Savings

STEPS = 60


def _archive_cost(chosen: list[CandidateSavings], prices: Prices, storage_class: str, day: float) -> float:
    minimum = prices.min_days[storage_class]
    return sum(
        c.assessment.archive_month_usd * max(day, minimum) / DAYS_PER_MONTH + c.assessment.one_off_usd
        for c in chosen
    )


def cost_curves(
    savings: Savings, prices: Prices, storage_class: str, horizon_days: float
) -> list[tuple[str, list[tuple[float, float]]]]:
    """Cumulative cost (USD) of the candidates' own vault blocks and of their archives, day by day:
    keeping everything, archiving what the policy chose, archiving every candidate."""
    price_day = prices.backup_ec2_gb_month / DAYS_PER_MONTH / GB
    everyone = savings.candidates
    chosen = savings.chosen()
    if savings.method == RANGE:  # unknown sharing: the best case, every block the point's own
        freed_all = sum(c.held_bytes for c in everyone)
        freed_chosen = sum(c.held_bytes for c in chosen)
    else:
        freed_all, freed_chosen = savings.freed_all_bytes, savings.freed_selected_bytes
    days = [horizon_days * i / STEPS for i in range(STEPS + 1)]
    keep = [(d, freed_all * price_day * d) for d in days]
    policy = [
        (d, (freed_all - freed_chosen) * price_day * d + _archive_cost(chosen, prices, storage_class, d))
        for d in days
    ]
    every = [(d, _archive_cost(everyone, prices, storage_class, d)) for d in days]
    return [
        ("keep every candidate in the vault", keep),
        ("archive what the policy chose", policy),
        ("archive every candidate", every),
    ]


def _gb(value: int | None) -> str:
    return "range" if value is None else f"{value / GB:,.2f}"


def render(
    savings: Savings, *, prices: Prices, storage_class: str, horizon_days: float, title: str, subtitle: str
) -> str:
    curves = cost_curves(savings, prices, storage_class, horizon_days)
    end = {name: points[-1][1] for name, points in curves}
    chosen = savings.chosen()
    cards = [
        (f"{len(chosen)} of {len(savings.candidates)}", "candidates worth archiving"),
        (f"${end['keep every candidate in the vault']:,.2f}", f"keeping, over {horizon_days:.0f} days"),
        (f"${end['archive what the policy chose']:,.2f}", "with the policy"),
        (f"${end['archive every candidate']:,.2f}", "archiving every candidate"),
        (f"{savings.ebs_calls:,} (${savings.ebs_cost_usd:,.4f})", "EBS direct API requests to measure"),
    ]
    method = (
        "Freed bytes measured with the EBS direct APIs (ListChangedBlocks)."
        if savings.method != RANGE
        else f"Block sharing unknown ({savings.fallback_reason}): "
        "figures assume every block is the point's own."
    )
    rows = [
        (
            c.point.ami_id,
            c.point.instance_id,
            c.point.creation_date.date().isoformat(),
            _gb(c.freed_bytes),
            f"{c.assessment.archive_bytes_estimate / GB:,.2f}",
            f"{c.assessment.monthly_saving_usd:,.4f}",
            "never" if c.assessment.break_even_days is None else f"{c.assessment.break_even_days:,.0f}",
            "archive" if c.archive else "keep",
            c.reason,
        )
        for c in savings.candidates
    ]
    return h.page(
        title,
        subtitle,
        [
            h.summary(cards),
            h.section(
                "Cumulative cost over the horizon",
                h.line_chart(
                    curves, x_label="days from now", y_label="USD", unit="$", title="cumulative cost"
                ),
                h.paragraph(
                    method + f" Archives are estimated at {savings.compression:.2f} of the blocks held "
                    f"({savings.compression_source}) and billed for {storage_class}'s minimum duration; "
                    "one-off costs (copy, the store's block reads, one restore) start each archive line."
                ),
            ),
            h.section(
                "Every candidate",
                h.table(
                    [
                        "AMI",
                        "instance",
                        "created",
                        "freed GB",
                        "archive GB",
                        "saving $/month",
                        "break-even days",
                        "decision",
                        "why",
                    ],
                    rows,
                    numeric=(3, 4, 5, 6),
                ),
            ),
        ],
    )

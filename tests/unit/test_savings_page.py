"""The plan's cost page: curves that mean what they say, and a page a real browser renders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from coldvault.models import RecoveryPoint
from coldvault.pricing import Prices
from coldvault.savings.breakeven import assess
from coldvault.savings.estimate import EXACT, CandidateSavings, Savings
from coldvault.savings.page import cost_curves, render
from tests.support.browser import png_size
from tests.support.browser import render as open_in_chromium

GIB = 1024**3
PRICES = Prices()


def candidate(ami: str, freed: int, held: int, archive: bool) -> CandidateSavings:
    point = RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/{ami}",
        vault_name="v",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=datetime(2026, 6, 30, 5, tzinfo=UTC),
        backup_size_bytes=held,
    )
    result = assess(
        freed_bytes=freed, held_bytes=held, storage_class="DEEP_ARCHIVE", prices=PRICES, horizon_days=365
    )
    return CandidateSavings(point, EXACT, freed, held, result, archive, result.reason)


def savings() -> Savings:
    monthly = candidate("ami-0monthly000000001", 40 * GIB, 100 * GIB, True)
    daily = candidate("ami-0daily00000000002", 1 * 1024**2, 100 * GIB, False)
    return Savings(candidates=[monthly, daily], freed_all_bytes=41 * GIB, freed_selected_bytes=40 * GIB)


def test_the_policy_curve_ends_below_keeping_and_below_archiving_everything() -> None:
    curves = dict(cost_curves(savings(), PRICES, "DEEP_ARCHIVE", 365))
    keep = curves["keep every candidate in the vault"]
    policy = curves["archive what the policy chose"]
    every = curves["archive every candidate"]
    assert keep[0][1] == 0
    assert policy[0][1] > 0  # the one-off costs and the minimum duration are committed on day 0
    assert policy[-1][1] < keep[-1][1]
    assert policy[-1][1] < every[-1][1]


def test_a_real_browser_renders_the_chart_and_the_table(tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    page.write_text(
        render(
            savings(),
            prices=PRICES,
            storage_class="DEEP_ARCHIVE",
            horizon_days=365,
            title="plan",
            subtitle="t",
        )
    )
    shot = tmp_path / "plan.png"
    dom = open_in_chromium(page, shot)
    assert dom.count("<polyline") == 3
    assert "ami-0daily00000000002" in dom
    assert "archiving never pays" in dom
    assert "http" not in page.read_text().replace("http://www.w3.org", "")  # nothing fetched from a network
    assert png_size(shot) == (1100, 1400)
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one

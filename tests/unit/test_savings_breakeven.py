"""Break-even and the pay-or-keep decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault.pricing import Prices
from coldvault.savings.breakeven import assess, break_even_days, compression_ratio

GIB = 1024**3
PRICES = Prices()


def cost_gap(keep: float, archive: float, one_off: float, minimum: float, day: float) -> float:
    return keep * day / 30 - (archive * max(day, minimum) / 30 + one_off)


@given(
    st.floats(0.0, 50.0),
    st.floats(0.0, 50.0),
    st.floats(0.0, 20.0),
    st.sampled_from([90.0, 180.0]),
)
def test_break_even_is_the_first_day_the_saving_covers_the_cost(
    keep: float, archive: float, one_off: float, minimum: float
) -> None:
    day = break_even_days(keep, archive, one_off, minimum)
    if day is None:
        # Never: at no day over ten years does keeping cost more.
        assert all(cost_gap(keep, archive, one_off, minimum, d) < 1e-9 or keep == 0 for d in range(1, 3650))
        return
    assert cost_gap(keep, archive, one_off, minimum, day) >= -1e-6
    if day > 1e-6:
        assert cost_gap(keep, archive, one_off, minimum, day * (1 - 1e-6) - 1e-9) < 1e-6


def test_a_daily_point_that_frees_almost_nothing_is_kept() -> None:
    result = assess(
        freed_bytes=1 * 1024**2,
        held_bytes=100 * GIB,
        storage_class="DEEP_ARCHIVE",
        prices=PRICES,
        horizon_days=180,
    )
    assert not result.pays
    assert result.break_even_days is None
    assert "never pays" in result.reason


def test_a_monthly_point_that_frees_much_pays_back() -> None:
    result = assess(
        freed_bytes=40 * GIB,
        held_bytes=100 * GIB,
        storage_class="DEEP_ARCHIVE",
        prices=PRICES,
        horizon_days=365,
    )
    assert result.pays
    assert result.break_even_days is not None
    assert result.break_even_days < 60
    assert result.archive_bytes_estimate == 60 * GIB  # the default compression, 0.6
    assert "saves $" in result.reason


def test_a_short_horizon_cannot_absorb_the_minimum_duration() -> None:
    result = assess(
        freed_bytes=10 * GIB, held_bytes=100 * GIB, storage_class="GLACIER_IR", prices=PRICES, horizon_days=10
    )
    assert not result.pays
    assert "more than keeping" in result.reason


@given(
    st.integers(0, 10**13),
    st.integers(1, 10**13),
    st.sampled_from(["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]),
    st.floats(0, 3650),
)
def test_it_pays_exactly_when_the_saving_over_the_horizon_is_not_negative(
    freed: int, held: int, storage_class: str, horizon: float
) -> None:
    result = assess(
        freed_bytes=freed, held_bytes=held, storage_class=storage_class, prices=PRICES, horizon_days=horizon
    )
    if result.pays:
        assert result.saving_over_horizon_usd >= -1e-6
    else:
        assert result.saving_over_horizon_usd <= 1e-6


def test_learned_compression_is_used_only_when_plausible() -> None:
    assert compression_ratio([(55, 100), (65, 100)]) == pytest.approx(0.6)
    assert compression_ratio([(8, 1_000_000)]) is None  # the sandbox's tiny stand-in objects
    assert compression_ratio([]) is None

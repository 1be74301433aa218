"""Pagination and timestamp parsing of the sandbox's Backup listings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault.sandbox.backup_listing import paginate, parse_time
from coldvault.sandbox.errors import InvalidParameterValueException


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=1000))
def test_pages_cover_every_item_once_in_order(count: int, size: int) -> None:
    items = list(range(count))
    seen: list[int] = []
    token: str | None = None
    while True:
        page, token = paginate(items, str(size), token)
        assert len(page) <= size
        seen += page
        if token is None:
            break
    assert seen == items


@pytest.mark.parametrize("bad", ["0", "1001", "ten"])
def test_bad_max_results(bad: str) -> None:
    with pytest.raises(InvalidParameterValueException):
        paginate([1, 2], bad, None)


def test_bad_token() -> None:
    with pytest.raises(InvalidParameterValueException):
        paginate([1, 2], None, "???")


def test_parse_time_forms() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("2026-01-02T03:04:05Z", "x") == expected
    assert parse_time("2026-01-02T03:04:05", "x") == expected
    assert parse_time(str(expected.timestamp()), "x") == expected
    assert parse_time(None, "x") is None
    with pytest.raises(InvalidParameterValueException):
        parse_time("yesterday", "x")

"""Restore policy (pure): options, names, tags, expected waits, polling, retrieval estimates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault.errors import UsageError
from coldvault.manifest import Manifest
from coldvault.pricing import Prices
from coldvault.restore.policy import (
    MAX_POLL,
    MIN_POLL,
    NAME_RE,
    RestoreOptions,
    default_name,
    estimate,
    expected_wait,
    image_tags,
    next_image_poll,
    next_thaw_poll,
    parse_tier,
)
from tests.support.manifests import ARCHIVE_KEY as KEY
from tests.support.manifests import a_manifest

EXTRA = {
    "coldvault:restored-from": KEY,
    "coldvault:source-recovery-point": "arn:aws:ec2:us-east-1::image/ami-0",
}


def entry(**changes: Any) -> Manifest:
    return a_manifest(**changes)


def test_tier_is_case_insensitive_and_checked() -> None:
    assert parse_tier("bulk") == "Bulk"
    with pytest.raises(UsageError, match="invalid tier"):
        parse_tier("Fast")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RestoreOptions(days=0), "--days"),
        (RestoreOptions(days=366), "--days"),
        (RestoreOptions(tier="standard"), "invalid tier"),
        (RestoreOptions(name="ab"), "invalid AMI name"),
        (RestoreOptions(name="bad*name"), "invalid AMI name"),
        (RestoreOptions(deadline_seconds=0), "deadline"),
    ],
)
def test_invalid_options_are_usage_errors(options: RestoreOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message) as exc:
        options.validate()
    assert exc.value.exit_code == 2


def test_default_name_is_deterministic_unique_per_archive_and_valid() -> None:
    a = default_name(entry())
    assert a == default_name(entry())
    assert a != default_name(entry(archive_key=KEY.replace("01/02", "01/03")))
    assert a.startswith("AwsBackup_i-0abc_3f2a-restored-")
    assert NAME_RE.match(a)


@given(st.text(max_size=300))
def test_default_name_is_always_a_valid_ami_name(original: str) -> None:
    assert NAME_RE.match(default_name(entry(image_name=original)))


def test_tags_drop_aws_keys_and_keep_within_fifty_with_name_first() -> None:
    tags = {f"k{i:02d}": str(i) for i in range(60)} | {"Name": "web", "aws:backup:source-resource": "i-0"}
    kept, dropped = image_tags(entry(image_tags=tags), extra=EXTRA)
    assert len(kept) == 50
    assert kept["Name"] == "web"
    assert "aws:backup:source-resource" not in kept
    assert kept["coldvault:restored-from"] == KEY
    assert len(dropped) == 61 - 48
    assert "Name" not in dropped


def test_tags_leave_room_for_the_stage_tag_of_an_encrypted_restore() -> None:
    tags = {f"k{i:02d}": str(i) for i in range(60)}
    kept, _ = image_tags(entry(image_tags=tags, encrypted=True), extra=EXTRA)
    assert len(kept) == 49


def test_few_tags_are_all_kept() -> None:
    kept, dropped = image_tags(entry(image_tags={"Name": "db", "team": "data"}), extra=EXTRA)
    assert kept == {"Name": "db", "team": "data", **EXTRA}
    assert dropped == []


def test_expected_waits() -> None:
    assert expected_wait("GLACIER", "Expedited") == "1 min-5 min"
    assert expected_wait("GLACIER", "Standard") == "3 h-5 h"
    assert expected_wait("DEEP_ARCHIVE", "Bulk") == "within 48 h"
    assert expected_wait("GLACIER_IR", "") == "none (readable at once)"


def test_thaw_polls_wait_for_the_earliest_completion_then_poll_within_bounds() -> None:
    assert next_thaw_poll("GLACIER", "Standard", 0, attached=False) == 3 * 3600
    assert next_thaw_poll("GLACIER", "Standard", 3600, attached=False) == 2 * 3600
    assert next_thaw_poll("GLACIER", "Standard", 4 * 3600, attached=False) == 20 * 60
    # Attached to a restore someone else started: its start is unknown, so poll at the regular pace.
    assert next_thaw_poll("GLACIER", "Standard", 0, attached=True) == 20 * 60
    for tier in ("Expedited", "Standard", "Bulk"):
        for elapsed in (0, 100, 10**6):
            assert MIN_POLL <= next_thaw_poll("GLACIER", tier, elapsed, attached=False) <= 5 * 3600
            assert MIN_POLL <= next_thaw_poll("GLACIER", tier, elapsed, attached=True) <= MAX_POLL


def test_image_polls_grow_and_are_bounded() -> None:
    waits = [next_image_poll(n) for n in range(20)]
    assert waits[0] == 2.0
    assert waits == sorted(waits)
    assert waits[-1] == 120.0


def test_estimates_follow_the_price_table() -> None:
    gib10 = 10 * 1024**3
    standard = estimate("GLACIER", gib10, "Standard", 3)
    assert standard.retrieval_usd == pytest.approx(10 * 0.01 + 0.05 / 1000)
    assert standard.temporary_copy_usd == pytest.approx(10 * 0.023 * 3 / 30)
    # Glacier Bulk: no charge per GB, only the request fee
    assert estimate("GLACIER", gib10, "Bulk", 3).retrieval_usd == pytest.approx(0.025 / 1000)
    instant = estimate("GLACIER_IR", gib10, "Standard", 3)
    assert instant.retrieval_usd == pytest.approx(0.3)
    assert instant.temporary_copy_usd == 0
    assert instant.tier == ""
    deep = estimate("DEEP_ARCHIVE", gib10, "Bulk", 1)
    assert deep.retrieval_usd == pytest.approx(10 * 0.0025 + 0.025 / 1000)
    assert deep.to_json()["total_usd"] > 0
    assert standard.prices_date == Prices().date  # the one dated table


def test_a_prices_file_changes_the_restore_estimate(tmp_path: Path) -> None:
    gib10 = 10 * 1024**3
    f = tmp_path / "prices.json"
    f.write_text(
        json.dumps(
            {
                "date": "2027-02-01",
                "retrieval_per_gb": {"GLACIER/Standard": 0.02},
                "restore_requests_per_1000": {"GLACIER/Standard": 1.0},
                "standard_gb_month": 0.03,
            }
        )
    )
    prices = Prices.load(f)
    before = estimate("GLACIER", gib10, "Standard", 3)
    after = estimate("GLACIER", gib10, "Standard", 3, prices)
    assert after.prices_date == "2027-02-01"
    assert after.retrieval_usd == pytest.approx(10 * 0.02 + 1.0 / 1000)
    assert after.temporary_copy_usd == pytest.approx(10 * 0.03 * 3 / 30)
    assert after.total_usd > before.total_usd
    # Keys the file does not name keep the built-in prices.
    assert estimate("GLACIER", gib10, "Expedited", 3, prices).retrieval_usd == pytest.approx(
        estimate("GLACIER", gib10, "Expedited", 3).retrieval_usd
    )


def test_expedited_waits_grow_with_objects_over_250_mb() -> None:
    """Expedited is minutes only below 250 MB; an archived AMI of 10 GB is not (capped at Standard's)."""
    assert expected_wait("GLACIER", "Expedited", 100 * 1000**2) == "1 min-5 min"
    assert expected_wait("GLACIER", "Expedited", 1000**3) == "1 min-20 min"
    assert expected_wait("GLACIER", "Expedited", 10 * 1000**3) == "1 min-3 h"
    assert expected_wait("GLACIER", "Expedited", 500 * 1000**3) == "1 min-5 h"
    small = next_thaw_poll("GLACIER", "Expedited", 120, attached=False, size_bytes=1000**2)
    large = next_thaw_poll("GLACIER", "Expedited", 120, attached=False, size_bytes=10 * 1000**3)
    assert small == 40
    assert large == MAX_POLL  # not every 40 s for hours
    assert estimate("GLACIER", 10 * 1000**3, "Expedited", 1).expected_wait == "1 min-3 h"

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coldvault.errors import ConfigurationError
from coldvault.models import RecoveryPoint, StorageClass
from coldvault.pricing import GB, Prices, estimate, estimate_point, retrieval_key

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def point(
    size_gb: float, *, delete_in_days: float | None = None, instance: str = "i-1", n: int = 1
) -> RecoveryPoint:
    return RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/ami-{n:017x}",
        vault_name="v",
        resource_arn=f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=NOW - timedelta(days=100),
        backup_size_bytes=int(size_gb * GB),
        delete_at=None if delete_in_days is None else NOW + timedelta(days=delete_in_days),
    )


def test_monthly_costs_use_the_table() -> None:
    e = estimate_point(point(100), StorageClass.GLACIER_IR, Prices(), NOW, shares_blocks=False)
    assert e.vault_month_max == pytest.approx(5.0)
    assert e.archive_month == pytest.approx(0.4)
    assert not e.costs_more


def test_point_expiring_soon_costs_more_to_archive_because_of_minimum_duration() -> None:
    # 10 days of vault at $0.05 vs 180 days minimum of Deep Archive: archiving 100 GB for 6 months is
    # $0.59, keeping it 10 days is $1.67 -> not flagged; 2 days -> $0.33 -> flagged.
    keep_short = estimate_point(
        point(100, delete_in_days=2), StorageClass.DEEP_ARCHIVE, Prices(), NOW, shares_blocks=False
    )
    assert keep_short.costs_more
    assert keep_short.archive_cost >= 100 * 0.00099 * 6 - 1e-9
    keep_long = estimate_point(
        point(100, delete_in_days=10), StorageClass.DEEP_ARCHIVE, Prices(), NOW, shares_blocks=False
    )
    assert not keep_long.costs_more


def test_freed_range_is_honest_about_incremental_snapshots() -> None:
    pts = [point(100, n=1), point(100, n=2), point(50, n=3, instance="i-2")]
    e = estimate(pts, StorageClass.GLACIER_IR, Prices(), NOW, instances_keeping_points={"i-2"})
    assert e.vault_month_freed_max == pytest.approx(12.5)
    # i-1 goes entirely: at least its largest point; i-2 keeps younger points: maybe nothing
    assert e.vault_month_freed_min == pytest.approx(5.0)
    assert e.archive_month_after == pytest.approx(250 * 0.004)
    assert "incremental" in e.to_json()["note"]


def test_prices_file_overrides_and_rejects_unknown(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"date": "2027-01-01", "class_gb_month": {"GLACIER_IR": 0.01}}))
    prices = Prices.load(f)
    assert prices.date == "2027-01-01"
    assert prices.class_gb_month["GLACIER_IR"] == 0.01
    assert prices.class_gb_month["GLACIER"] == 0.0036
    f.write_text(json.dumps({"bogus": 1}))
    with pytest.raises(ConfigurationError, match="bogus"):
        Prices.load(f)
    with pytest.raises(ConfigurationError):
        Prices.load(tmp_path / "missing.json")


def test_one_dated_table_holds_storage_and_retrieval_prices() -> None:
    prices = Prices()
    assert prices.date == "2026-11-01"
    assert retrieval_key("GLACIER_IR", "Standard") == "GLACIER_IR"
    assert retrieval_key("DEEP_ARCHIVE", "Bulk") == "DEEP_ARCHIVE/Bulk"
    assert prices.retrieval_per_gb[retrieval_key("GLACIER", "Standard")] == 0.01
    assert prices.restore_requests_per_1000[retrieval_key("GLACIER", "Expedited")] == 10.0
    assert prices.standard_gb_month == 0.023


def test_prices_file_overrides_retrieval_prices_key_by_key(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"retrieval_per_gb": {"GLACIER/Bulk": 0.001}, "standard_gb_month": 0.03}))
    prices = Prices.load(f)
    assert prices.retrieval_per_gb["GLACIER/Bulk"] == 0.001
    assert prices.retrieval_per_gb["GLACIER/Standard"] == 0.01
    assert prices.standard_gb_month == 0.03
    assert prices.date == Prices().date


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ("{not json", "cannot read price file"),
        (json.dumps({"class_gb_month": 3}), "must be an object"),
        (json.dumps({"retrieval_per_gb": {"GLACIER/Fast": 0.1}}), "GLACIER/Fast"),
        (json.dumps({"backup_ec2_gb_month": "cheap"}), "must be a number"),
        (json.dumps({"put_per_1000": {"GLACIER": -1}}), "must be a number"),
        (json.dumps({"standard_gb_month": True}), "must be a number"),
        (json.dumps({"date": 2027}), "must be a string"),
    ],
)
def test_bad_prices_files_are_configuration_errors(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "p.json"
    f.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as exc:
        Prices.load(f)
    assert exc.value.exit_code == 2
    assert "\n" not in str(exc.value)

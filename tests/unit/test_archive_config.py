from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault.cli.archive_cmd import Flags, resolve
from coldvault.config import MAX_PARTS, MIB, MIN_PART_BYTES, Settings, cutoff_from, part_size_for
from coldvault.errors import ConfigurationError
from coldvault.models import PointWork, RecoveryPoint, Stage, StorageClass

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=5 * 1024**4), st.integers(min_value=1, max_value=512 * MIB))
def test_part_size_keeps_parts_within_limits(size: int, minimum: int) -> None:
    part = part_size_for(size, minimum)
    assert part >= MIN_PART_BYTES
    assert part >= minimum
    assert part % MIB == 0
    assert math.ceil(size / part) <= MAX_PARTS


def test_cutoff_needs_exactly_one_selector() -> None:
    assert cutoff_from(NOW, "10", None) == NOW - timedelta(days=10)
    assert cutoff_from(NOW, None, "2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert cutoff_from(NOW, None, "2026-01-31T12:00:00+02:00").utcoffset() == timedelta(hours=2)
    for older, before in ((None, None), ("1", "2026-01-01")):
        with pytest.raises(ConfigurationError, match="exactly one"):
            cutoff_from(NOW, older, before)
    for bad in ("-1", "ten", "nan"):
        with pytest.raises(ConfigurationError, match="--older-than"):
            cutoff_from(NOW, bad, None)
    with pytest.raises(ConfigurationError, match="--created-before"):
        cutoff_from(NOW, None, "31/01/2026")


def test_flags_win_over_ssm_which_win_over_defaults() -> None:
    ssm = {
        "vault": "from-ssm",
        "bucket": "b-ssm",
        "storage-class": "DEEP_ARCHIVE",
        "older-than-days": "30",
        "concurrency": "4",
    }
    s = resolve(Flags(vault="from-flag"), ssm, now=NOW, run_id="r")
    assert (s.vault, s.bucket, s.storage_class, s.concurrency) == (
        "from-flag",
        "b-ssm",
        StorageClass.DEEP_ARCHIVE,
        4,
    )
    assert s.cutoff == NOW - timedelta(days=30)
    s = resolve(Flags(created_before="2026-01-01", storage_class="glacier"), ssm, now=NOW, run_id="r")
    assert s.cutoff == datetime(2026, 1, 1, tzinfo=UTC)
    assert s.storage_class is StorageClass.GLACIER
    with pytest.raises(ConfigurationError, match="storage class"):
        resolve(Flags(storage_class="STANDARD"), ssm, now=NOW, run_id="r")
    with pytest.raises(ConfigurationError, match="vault"):
        resolve(Flags(bucket="b", older_than="1"), {}, now=NOW, run_id="r")
    with pytest.raises(ConfigurationError, match="--concurrency"):
        resolve(Flags(concurrency=0), ssm, now=NOW, run_id="r")


def test_settings_and_work_round_trip_as_small_json() -> None:
    import json

    s = Settings(vault="v", bucket="b", cutoff=NOW, run_id="r", queue_url="q", verify_content=True)
    assert Settings.from_json(json.loads(json.dumps(s.to_json()))) == s
    p = RecoveryPoint(
        arn="arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0",
        vault_name="v",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=NOW,
        delete_at=NOW + timedelta(days=3),
        tags={f"k{i}": "v" * 200 for i in range(20)},
    )
    w = PointWork(
        point=p, archive_key="a", manifest_key="m", stage=Stage.COPYING, upload_id="u", timings={"store": 1.5}
    )
    text = json.dumps(w.to_json())
    assert len(text) < 8 * 1024
    assert PointWork.from_json(json.loads(text)) == w

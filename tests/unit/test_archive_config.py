"""Settings and a point's work as JSON; the multipart part size (the resolver: test_settings.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coldvault.config import MAX_PARTS, MIB, MIN_PART_BYTES, Settings, part_size_for
from coldvault.models import PointWork, RecoveryPoint, Stage

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=5 * 1024**4), st.integers(min_value=1, max_value=512 * MIB))
def test_part_size_keeps_parts_within_limits(size: int, minimum: int) -> None:
    part = part_size_for(size, minimum)
    assert part >= MIN_PART_BYTES
    assert part >= minimum
    assert part % MIB == 0
    assert math.ceil(size / part) <= MAX_PARTS


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

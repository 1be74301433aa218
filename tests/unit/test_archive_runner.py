from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from coldvault.models import PointWork, RecoveryPoint
from coldvault.pipeline import poll_interval
from coldvault.pipeline.labels import METADATA_LIMIT, archive_metadata, archive_tags, metadata_size
from coldvault.runner import pick_next


def work(size: int, n: int = 0, tags: dict[str, str] | None = None) -> PointWork:
    p = RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/ami-{n:017x}",
        vault_name="vault",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=datetime(2026, 1, 2, tzinfo=UTC),
        backup_size_bytes=size,
        tags=tags or {},
    )
    return PointWork(point=p, archive_key="k", manifest_key="m")


def test_pick_next_packs_largest_first_under_the_limit() -> None:
    pending = [work(900), work(500), work(200), work(100)]
    assert pick_next(pending, 0, 1000) == 0
    assert pick_next(pending, 600, 1000) == 2  # 500 does not fit, 200 does
    assert pick_next(pending, 950, 1000) is None  # nothing fits: wait
    assert pick_next([work(5000)], 0, 1000) == 0  # bigger than the limit: alone
    assert pick_next([], 0, 1000) is None


@given(
    st.lists(st.integers(min_value=1, max_value=2000), max_size=30), st.integers(min_value=1, max_value=3000)
)
def test_pick_next_never_exceeds_the_limit_unless_alone(sizes: list[int], limit: int) -> None:
    pending = sorted((work(s) for s in sizes), key=lambda w: -w.point.backup_size_bytes)
    in_progress: list[int] = []
    while (i := pick_next(pending, sum(in_progress), limit)) is not None:
        chosen = pending.pop(i)
        assert sum(in_progress) + chosen.point.backup_size_bytes <= limit or not in_progress
        in_progress.append(chosen.point.backup_size_bytes)
    assert not pending or sum(in_progress) > 0


def test_poll_interval_follows_observed_progress() -> None:
    assert poll_interval(0, 40, minimum=15, maximum=600) == 15
    assert poll_interval(0, 100, minimum=15, maximum=600) == 25  # no progress yet: back off
    # 10% in 60 s -> 540 s left -> look again in 270 s
    assert poll_interval(10, 60, minimum=15, maximum=600) == 270
    assert poll_interval(90, 60, minimum=15, maximum=600) == 15  # nearly done
    assert poll_interval(1, 3600, minimum=15, maximum=600) == 600  # slow: capped


@given(st.integers(min_value=0, max_value=100), st.floats(min_value=0, max_value=1e6))
def test_poll_interval_is_bounded(progress: int, elapsed: float) -> None:
    assert 15 <= poll_interval(progress, elapsed, minimum=15, maximum=600) <= 600


def test_metadata_fits_2kb_and_keeps_ours() -> None:
    ec2 = {"ami-name": "n" * 100, "ami-description": "d" * 5000, "ami-owner-account": "123456789012"}
    meta = archive_metadata(work(1), ec2, 123)
    assert metadata_size(meta) <= METADATA_LIMIT
    assert meta["coldvault-source-arn"].endswith("ami-00000000000000000")
    assert meta["ami-name"] == "n" * 100
    assert meta["ami-description"].startswith("ddd")


@given(st.dictionaries(st.text(min_size=1, max_size=200), st.text(max_size=400), max_size=60))
def test_tags_at_most_ten_and_never_aws(tags: dict[str, str]) -> None:
    chosen = archive_tags(work(1, tags=tags))
    assert len(chosen) <= 10
    assert not any(k.lower().startswith("aws:") for k in chosen)
    assert all(len(k) <= 128 and len(v) <= 256 for k, v in chosen.items())
    assert chosen["coldvault:vault"] == "vault"

"""The CLI engine's whole loop on a ManualClock over the fakes: it ends, every wait has a deadline, and
errors that will not go away fail the points instead of being retried for ever."""

from __future__ import annotations

from dataclasses import replace

from coldvault.errors import AccessDenied, StoreQuotaExceeded, Throttled
from coldvault.models import Outcome, PointWork, Stage
from coldvault.progress import Event
from coldvault.runner import Runner
from tests.support.fakes import BUCKET, MIB, Fakes, fakes, settings, work

HOUR = 3600.0


def storing(f: Fakes, n: int) -> list[PointWork]:
    """``n`` points whose store tasks are already running (a run resumed): the first look is a poll."""
    works = [
        replace(w, stage=Stage.STORING, store_started_at=f.clock.now().isoformat(), lease_etag="held")
        for w in fleet(f, n)
    ]
    for w in works:
        f.ec2.create_store_image_task(w.ami_id, BUCKET, {})
    return works


def fleet(f: Fakes, n: int) -> list[PointWork]:
    works = [work(i) for i in range(1, n + 1)]
    for w in works:
        f.backup.points[w.point.arn] = w.point
    return works


def run(f: Fakes, works: list[PointWork], **changes: object) -> list[PointWork]:
    events: list[Event] = []
    finished = Runner(f.services, settings(**changes), emit=events.append).run(works)
    assert events[-1].kind == "run"
    return sorted(finished, key=lambda w: w.ami_id)


def test_points_go_from_selected_to_archived() -> None:
    f = fakes()
    f.ec2.store_seconds = 1800.0
    f.ec2.staging_size = 12 * MIB
    works = fleet(f, 25)
    finished = run(f, works, concurrency=30)
    assert [w.outcome for w in finished] == [Outcome.ARCHIVED] * 25
    assert f.backup.points == {}  # every recovery point deleted, after its archive was verified
    assert len(f.sqs.sent) == 0  # no queue configured
    assert not any(k.startswith("leases/") for _, k in f.s3.objects)
    # one look per point before its task starts, then batched polls: two calls (20 + 5) per poll
    assert all(len(b) <= 20 for b in f.ec2.describe_batches)
    polls = f.rec.count("DescribeStoreImageTasks") - 25
    assert polls <= 2 * 12
    assert 1800 <= f.clock.monotonic() < 1800 * 1.6


def test_a_slow_s3_still_finishes_the_copies() -> None:
    f = fakes(latency=1.0)
    f.ec2.store_seconds = 60.0
    f.ec2.staging_size = 30 * MIB
    finished = run(f, fleet(f, 2), copy_concurrency=2)
    assert [w.outcome for w in finished] == [Outcome.ARCHIVED] * 2
    assert all(w.parts_total == 6 for w in finished)


def test_a_quota_that_never_frees_fails_the_point_at_the_quota_deadline() -> None:
    f = fakes()
    refusal = StoreQuotaExceeded("CreateStoreImageTask: quota", code="ResourceLimitExceeded")
    f.rec.fail_next("CreateStoreImageTask", *[refusal] * 10_000)
    (w,) = run(f, fleet(f, 1), quota_wait_deadline_seconds=2 * HOUR)
    assert (w.outcome, w.error_type) == (Outcome.FAILED, "StoreQuotaExceeded")
    assert 2 * HOUR <= f.clock.monotonic() <= 2 * HOUR + 60
    assert f.clock.slept
    assert max(f.clock.slept) <= 60


def test_polls_denied_fail_the_points_with_the_reason() -> None:
    f = fakes()
    f.ec2.store_seconds = 1800.0
    denied = AccessDenied("DescribeStoreImageTasks: UnauthorizedOperation", code="UnauthorizedOperation")
    f.rec.fail_next("DescribeStoreImageTasks", denied)
    finished = run(f, storing(f, 3))
    assert [w.outcome for w in finished] == [Outcome.FAILED] * 3
    assert all("UnauthorizedOperation" in w.error for w in finished)
    assert f.rec.count("DescribeStoreImageTasks") == 1
    assert len(f.backup.points) == 3  # nothing deleted


def test_endless_throttling_ends_at_the_store_deadline() -> None:
    f = fakes()
    f.ec2.store_seconds = 1800.0
    throttled = Throttled("DescribeStoreImageTasks: RequestLimitExceeded", code="RequestLimitExceeded")
    f.rec.fail_next("DescribeStoreImageTasks", *[throttled] * 10_000)
    finished = run(f, storing(f, 2), store_deadline_seconds=4 * HOUR)
    assert [w.error_type for w in finished] == ["StoreDeadlineExceeded"] * 2
    assert all("RequestLimitExceeded" in w.error for w in finished)
    assert 4 * HOUR < f.clock.monotonic() <= 4 * HOUR + 600
    assert f.rec.count("DescribeStoreImageTasks") < 40  # backed off to the 10 min ceiling


def test_a_stuck_store_fails_at_its_deadline_and_the_others_finish() -> None:
    f = fakes()
    works = fleet(f, 2)
    stuck, fine = works
    f.ec2.set_task(stuck.ami_id, "InProgress", 3, bucket=BUCKET)
    f.ec2.finish(fine.ami_id, BUCKET, 6 * MIB)
    finished = {w.ami_id: w for w in run(f, works, store_deadline_seconds=HOUR)}
    assert finished[fine.ami_id].outcome is Outcome.ARCHIVED
    assert finished[stuck.ami_id].error_type == "StoreDeadlineExceeded"
    assert finished[stuck.ami_id].stage is Stage.DONE
    assert list(f.backup.points) == [stuck.point.arn]

"""start_store and check_stores against the fakes on a ManualClock: every idempotency branch, errors that
will not go away, throttling within the deadline, and the poll budget that bounds an execution's history."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coldvault import keys, lease
from coldvault.errors import AccessDenied, AwsError, StoreQuotaExceeded, StoreTaskFailed, Throttled
from coldvault.lease import LeaseOwner
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline import check_stores, poll_interval, start_store, verify_archive
from coldvault.pipeline.common import SOURCE_ARN_META
from coldvault.pipeline.store import poll_growth
from tests.support.fakes import BUCKET, START, Fakes, fakes, settings, work

# --- start_store ------------------------------------------------------------------------------


def test_a_new_point_gets_a_store_task_tagged_for_the_lifecycle_rule() -> None:
    f = fakes()
    w = start_store(f.services, settings(), work(1))
    assert (w.stage, w.store_progress, w.next_poll_seconds) == (Stage.STORING, 0, 15.0)
    assert f.ec2.created == [w.ami_id]
    assert w.lease_etag


def test_a_running_task_is_reused() -> None:
    f = fakes()
    f.ec2.set_task(work(1).ami_id, "InProgress", 40, bucket=BUCKET)
    w = start_store(f.services, settings(), work(1))
    assert (w.stage, w.store_progress) == (Stage.STORING, 40)
    assert f.ec2.created == []


def test_a_task_for_another_bucket_is_not_reused() -> None:
    f = fakes()
    f.ec2.set_task(work(1).ami_id, "InProgress", 40, bucket="elsewhere")
    w = start_store(f.services, settings(), work(1))
    assert w.stage is Stage.STORING
    assert f.ec2.created == [w.ami_id]


def test_a_staging_object_already_there_skips_the_store() -> None:
    f = fakes()
    f.s3.put(BUCKET, keys.staging_key(work(1).ami_id), 1234)
    w = start_store(f.services, settings(), work(1))
    assert (w.stage, w.staging_size) == (Stage.STORED, 1234)
    assert f.rec.count("DescribeStoreImageTasks") == 0


def test_a_completed_task_whose_object_is_gone_is_started_again() -> None:
    f = fakes()
    f.ec2.set_task(work(1).ami_id, "Completed", 100, bucket=BUCKET)
    w = start_store(f.services, settings(), work(1))
    assert w.stage is Stage.STORING
    assert f.ec2.created == [w.ami_id]


def test_a_verified_manifest_goes_straight_to_delete_and_drops_the_staging_leftover() -> None:
    f = fakes()
    w0 = work(1)
    f.s3.put(BUCKET, keys.staging_key(w0.ami_id), 99, checksum="crc")
    meta = {SOURCE_ARN_META: w0.point.arn}
    f.s3.put(BUCKET, w0.archive_key, 99, storage_class="GLACIER_IR", metadata=meta, checksum="crc")
    verify_archive(f.services, settings(), replace(w0, stage=Stage.COPIED))
    f.s3.put(BUCKET, keys.staging_key(w0.ami_id), 99)  # left by a crash after the manifest
    w = start_store(f.services, settings(), w0)
    assert w.stage is Stage.VERIFIED
    assert (BUCKET, keys.staging_key(w0.ami_id)) not in f.s3.objects


def test_an_object_not_ours_at_the_archive_key_refuses_to_store() -> None:
    f = fakes()
    f.s3.put(BUCKET, work(1).archive_key, 5, metadata={SOURCE_ARN_META: "other"})
    with pytest.raises(StoreTaskFailed, match="not overwritten"):
        start_store(f.services, settings(), work(1))
    assert f.ec2.created == []


def test_a_lease_held_by_another_run_leaves_the_point_alone() -> None:
    f = fakes()
    lease.acquire(f.services.s3, BUCKET, work(1).ami_id, LeaseOwner("other"), now=START, seconds=3600)
    w = start_store(f.services, settings(), work(1))
    assert (w.stage, w.outcome) == (Stage.DONE, Outcome.LEASED)
    assert f.ec2.created == []


def test_a_quota_refusal_is_raised_for_the_engine_to_wait_out() -> None:
    f = fakes()
    f.rec.fail_next("CreateStoreImageTask", StoreQuotaExceeded("quota", code="ResourceLimitExceeded"))
    with pytest.raises(StoreQuotaExceeded):
        start_store(f.services, settings(), work(1))


def test_other_stages_pass_through() -> None:
    f = fakes()
    w = work(1, Stage.STORING)
    assert start_store(f.services, settings(), w) is w


# --- check_stores -----------------------------------------------------------------------------


def storing(f: Fakes, n: int, progress: int = 0) -> PointWork:
    w = work(n, Stage.STORING, store_started_at=f.clock.now().isoformat())
    f.ec2.set_task(w.ami_id, "InProgress", progress, bucket=BUCKET)
    return w


def test_access_denied_fails_every_polled_point_with_the_reason() -> None:
    f = fakes()
    works = [storing(f, 1), storing(f, 2), work(3, Stage.COPIED)]
    denied = AccessDenied("DescribeStoreImageTasks: UnauthorizedOperation: no", code="UnauthorizedOperation")
    f.rec.fail_next("DescribeStoreImageTasks", denied)
    result = check_stores(f.services, settings(), works)
    assert [w.outcome for w in result[:2]] == [Outcome.FAILED, Outcome.FAILED]
    assert all("UnauthorizedOperation" in w.error for w in result[:2])
    assert result[2] is works[2]


def test_a_validation_error_fails_the_points_too() -> None:
    f = fakes()
    f.rec.fail_next(
        "DescribeStoreImageTasks", AwsError("InvalidParameterValue: bad", code="InvalidParameterValue")
    )
    (w,) = check_stores(f.services, settings(), [storing(f, 1)])
    assert w.outcome is Outcome.FAILED
    assert w.error_type == "AwsError"


def test_throttling_backs_off_within_the_store_deadline() -> None:
    f = fakes()
    s = settings(store_deadline_seconds=3600)
    w = storing(f, 1)
    waits = []
    while w.stage is Stage.STORING:
        f.rec.fail_next(
            "DescribeStoreImageTasks", Throttled("RequestLimitExceeded", code="RequestLimitExceeded")
        )
        (w,) = check_stores(f.services, s, [w])
        waits.append(w.next_poll_seconds)
        f.clock.advance(w.next_poll_seconds)
        assert len(waits) < 100
    assert waits[:4] == [15.0, 30.0, 60.0, 120.0]
    assert max(waits) == s.max_poll_seconds
    assert w.error_type == "StoreDeadlineExceeded"
    assert "RequestLimitExceeded" in w.error


def test_a_transient_error_on_the_staging_head_backs_off() -> None:
    f = fakes()
    w = storing(f, 1)
    f.ec2.finish(w.ami_id, BUCKET, 10)
    f.rec.fail_next("HeadObject", AwsError("HeadObject: InternalError", code="InternalError"))
    (w,) = check_stores(f.services, settings(), [w])
    assert w.stage is Stage.STORING
    (w,) = check_stores(f.services, settings(), [w])
    assert (w.stage, w.staging_size) == (Stage.STORED, 10)


def test_a_queued_task_backs_off_without_progress() -> None:
    assert poll_interval(0, 60, minimum=15, maximum=600) == 15
    assert poll_interval(0, 400, minimum=15, maximum=600) == 100
    assert poll_interval(0, 10_000, minimum=15, maximum=600) == 600


@pytest.mark.parametrize("budget", [2, 5, 16, 56])
def test_the_poll_budget_spans_the_store_deadline(budget: int) -> None:
    """However the task progresses (here: not at all), a point polls at most ``budget`` times until
    its store deadline, which then fails it."""
    f = fakes()
    s = settings()
    w = replace(storing(f, 1), next_poll_seconds=s.min_poll_seconds)
    while w.stage is Stage.STORING:
        f.clock.advance(w.next_poll_seconds)
        (w,) = check_stores(f.services, s, [w], poll_budget=budget)
    assert w.store_polls <= budget
    assert w.error_type == "StoreDeadlineExceeded"
    assert f.rec.count("DescribeStoreImageTasks") == w.store_polls


def test_a_budgeted_point_still_sees_a_quick_store_soon() -> None:
    f = fakes()
    s = settings()
    w = replace(storing(f, 1), next_poll_seconds=s.min_poll_seconds)
    f.ec2.store_seconds = 1800.0
    f.ec2.tasks[w.ami_id] = replace(f.ec2.tasks[w.ami_id], started=START)
    while w.stage is Stage.STORING:
        f.clock.advance(w.next_poll_seconds)
        (w,) = check_stores(f.services, s, [w], poll_budget=16)
    elapsed = (f.clock.now() - START).total_seconds()
    growth = poll_growth(s.store_deadline_seconds, s.min_poll_seconds, 16)
    assert elapsed <= 1800 * (1 + growth) + s.min_poll_seconds
    assert w.stage is Stage.STORED


def test_poll_growth_is_what_the_budget_needs() -> None:
    g = poll_growth(48 * 3600, 15, 16)
    assert 15 * (1 + g) ** 15 == pytest.approx(48 * 3600)
    assert poll_growth(10, 15, 16) == 0.0


def test_every_batch_size_fits_the_history_by_construction() -> None:
    """docs/cloud.md's table: whatever ItemsPerExecution says, the points' worst case fits 24,000 events."""
    from coldvault.cloud import handlers

    per_point = handlers.EVENTS_PER_POINT
    for configured in range(1, 251):
        items = handlers._items_per_execution(settings(items_per_execution=configured))
        budget = handlers._poll_budget(items)
        assert budget >= handlers.MIN_POLL_BUDGET
        assert items * (per_point + handlers.EVENTS_PER_POLL * budget) <= handlers.HISTORY_EVENTS_PLANNED
    assert [handlers._poll_budget(n) for n in (25, 40, 100, 212)] == [96, 56, 16, 2]
    assert handlers._items_per_execution(settings()) == 100
    assert handlers._items_per_execution(settings(items_per_execution=250)) == 212


def test_throttled_polls_count_against_the_budget_too() -> None:
    """A throttled poll costs the execution's history as much as any other: it is counted and spaced."""
    f = fakes()
    s = settings()
    w = replace(storing(f, 1), next_poll_seconds=s.min_poll_seconds)
    throttled = Throttled("RequestLimitExceeded", code="RequestLimitExceeded")
    f.rec.fail_next("DescribeStoreImageTasks", *[throttled] * 1000)
    while w.stage is Stage.STORING:
        f.clock.advance(w.next_poll_seconds)
        (w,) = check_stores(f.services, s, [w], poll_budget=16)
    assert w.store_polls <= 16
    assert w.error_type == "StoreDeadlineExceeded"

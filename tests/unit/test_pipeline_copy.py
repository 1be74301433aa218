"""copy_archive against the fake S3 on a ManualClock: progress on every call, the deadline, the time
kept for Complete, the checksums sent to it, and every idempotency branch."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coldvault.errors import (
    AccessDenied,
    CopyDeadlineExceeded,
    StoreTaskFailed,
    Throttled,
    VerificationFailed,
)
from coldvault.models import PointWork, Stage
from coldvault.pipeline import copy_archive
from coldvault.pipeline.common import SOURCE_ARN_META
from tests.support.fakes import BUCKET, MIB, START, Fakes, fakes, settings, work

PARTS = 20
SIZE = PARTS * 5 * MIB


def stored(f: Fakes, size: int = SIZE, checksum: str = "crc-staging") -> PointWork:
    w = work(1, Stage.STORED, staging_size=size)
    f.s3.put(BUCKET, f"{w.ami_id}.bin", size, checksum=checksum)
    return w


def archive_of(f: Fakes, w: PointWork) -> tuple[int, str, str]:
    obj = f.s3.objects[(BUCKET, w.archive_key)]
    return obj.size, obj.checksum, obj.storage_class


def test_every_call_copies_a_part_when_s3_is_slow() -> None:
    """The reviewer's case: 20 parts, 1 s per S3 call, a 2 s slice. Before, the HEAD and List calls spent
    the slice and 5 calls copied 0 parts; now every call copies at least one."""
    f = fakes(latency=1.0)
    w = stored(f)
    calls = 0
    while w.stage is not Stage.COPIED:
        before = w.parts_done
        w = copy_archive(f.services, settings(), w, time_budget_seconds=2.0)
        calls += 1
        assert w.stage is Stage.COPIED or w.parts_done > before, f"call {calls} made no progress"
        if calls == 5:
            assert w.parts_done >= 5
        assert calls <= PARTS + 1  # the last part's call may leave Complete to the next
    assert archive_of(f, w) == (SIZE, "crc-staging", "GLACIER_IR")
    assert f.s3.uploads == {}


def test_a_copy_past_its_deadline_fails_with_a_named_error_and_keeps_the_upload() -> None:
    f = fakes(latency=1.0)
    w = copy_archive(f.services, settings(copy_deadline_seconds=3600), stored(f), time_budget_seconds=0)
    assert w.stage is Stage.COPYING
    assert w.copy_started_at == START.isoformat()  # the deadline counts from the first call
    f.clock.advance(3601)
    with pytest.raises(CopyDeadlineExceeded, match=r"1 of 20 parts"):
        copy_archive(f.services, settings(copy_deadline_seconds=3600), w, time_budget_seconds=0)
    assert list(f.s3.uploads) == [w.upload_id]  # kept: a later run resumes it


def test_complete_waits_for_a_call_with_its_reserve_left() -> None:
    """Parts stop while the reserve for Complete is not left; the call that has no part to copy
    completes (its whole time is Complete's), so the loop still ends."""
    f = fakes(latency=1.0)
    w = stored(f, size=3 * 5 * MIB)
    s = settings(copy_concurrency=1)
    w = copy_archive(f.services, s, w, time_budget_seconds=6.0, complete_reserve_seconds=5.0)
    assert (w.stage, w.parts_done) == (Stage.COPYING, 1)
    while w.parts_done < 3:
        w = copy_archive(f.services, s, w, time_budget_seconds=6.0, complete_reserve_seconds=5.0)
        assert w.stage is Stage.COPYING
    assert f.s3.rec.count("CompleteMultipartUpload") == 0
    w = copy_archive(f.services, s, w, time_budget_seconds=6.0, complete_reserve_seconds=5.0)
    assert w.stage is Stage.COPIED
    assert f.s3.rec.count("UploadPartCopy") == 3


def test_an_unbounded_call_copies_and_completes_at_once() -> None:
    f = fakes()
    w = copy_archive(f.services, settings(), stored(f))
    assert (w.stage, w.parts_done, w.parts_total, w.upload_id) == (Stage.COPIED, PARTS, PARTS, "")


def test_complete_sends_part_checksums_and_the_staging_checksum() -> None:
    """S3 checks the assembled archive against the staging object's CRC64NVME: a wrong one is refused."""
    f = fakes()
    w = stored(f, size=2 * 5 * MIB)
    w = copy_archive(f.services, settings(), w, time_budget_seconds=0.0)
    # The staging object changed meanwhile (another store task wrote it): its checksum no longer fits.
    f.s3.objects[(BUCKET, f"{w.ami_id}.bin")].checksum = "crc-other"
    with pytest.raises(Exception, match="BadDigest"):
        copy_archive(f.services, settings(), w)
    assert f.s3.uploads == {}  # not a transient failure: the upload is aborted
    assert (BUCKET, w.archive_key) not in f.s3.objects


def test_a_small_object_is_one_copy_object() -> None:
    f = fakes()
    stray = f.s3.start_upload(BUCKET, work(1).archive_key)
    w = copy_archive(f.services, settings(), stored(f, size=5 * MIB))
    assert (w.stage, w.parts_total) == (Stage.COPIED, 1)
    assert f.s3.rec.count("CopyObject") == 1
    assert stray not in f.s3.uploads
    obj = f.s3.objects[(BUCKET, w.archive_key)]
    assert obj.metadata[SOURCE_ARN_META] == w.point.arn
    assert obj.tags["coldvault:vault"] == "vault"


def test_an_upload_in_progress_is_resumed_and_orphans_aborted() -> None:
    f = fakes()
    w = stored(f)
    w = copy_archive(f.services, settings(copy_concurrency=1), w, time_budget_seconds=0.0)
    orphan = f.s3.start_upload(BUCKET, w.archive_key)
    copied = f.s3.rec.count("UploadPartCopy")
    done = copy_archive(f.services, settings(), w)
    assert done.stage is Stage.COPIED
    assert f.s3.rec.count("UploadPartCopy") - copied == PARTS - 1  # part 1 was not copied again
    assert orphan not in f.s3.uploads


def test_a_crashed_runs_upload_is_found_without_the_upload_id() -> None:
    f = fakes()
    w = copy_archive(f.services, settings(copy_concurrency=1), stored(f), time_budget_seconds=0.0)
    crashed = replace(w, stage=Stage.STORED, upload_id="", parts_done=0)
    copied = f.s3.rec.count("UploadPartCopy")
    assert copy_archive(f.services, settings(), crashed).stage is Stage.COPIED
    assert f.s3.rec.count("UploadPartCopy") - copied == PARTS - 1


def test_an_upload_with_another_part_layout_is_replaced() -> None:
    f = fakes()
    w = stored(f)
    old = f.s3.start_upload(BUCKET, w.archive_key)
    f.s3.copy_part(BUCKET, f"{w.ami_id}.bin", w.archive_key, old, 1, 0, 8 * MIB - 1)
    done = copy_archive(f.services, settings(), replace(w, upload_id=old))
    assert done.stage is Stage.COPIED
    assert old not in f.s3.uploads
    assert f.s3.objects[(BUCKET, w.archive_key)].checksum == "crc-staging"


def test_our_archive_already_at_the_key_is_accepted() -> None:
    f = fakes()
    w = stored(f)
    f.s3.put(BUCKET, w.archive_key, SIZE, metadata={SOURCE_ARN_META: w.point.arn}, checksum="crc-staging")
    stray = f.s3.start_upload(BUCKET, w.archive_key)
    done = copy_archive(f.services, settings(), w)
    assert done.stage is Stage.COPIED
    assert f.s3.rec.count("UploadPartCopy") == 0
    assert stray not in f.s3.uploads


def test_our_archive_of_the_wrong_size_is_replaced() -> None:
    f = fakes()
    w = stored(f)
    f.s3.put(BUCKET, w.archive_key, 7, metadata={SOURCE_ARN_META: w.point.arn})
    done = copy_archive(f.services, settings(), w)
    assert done.stage is Stage.COPIED
    assert f.s3.objects[(BUCKET, w.archive_key)].size == SIZE


def test_an_object_from_anything_else_is_never_overwritten() -> None:
    f = fakes()
    w = stored(f)
    f.s3.put(BUCKET, w.archive_key, SIZE, metadata={SOURCE_ARN_META: "someone else"})
    with pytest.raises(VerificationFailed, match="not overwritten"):
        copy_archive(f.services, settings(), w)


def test_an_object_appearing_before_complete_restarts_the_copy() -> None:
    f = fakes()
    w = copy_archive(f.services, settings(), stored(f), time_budget_seconds=0.0)
    f.s3.put(BUCKET, w.archive_key, 1, metadata={SOURCE_ARN_META: w.point.arn})
    # The object appears between this call's HEAD and its Complete.
    obj = f.s3.objects.pop((BUCKET, w.archive_key))
    original = f.s3.complete_upload

    def racing_complete(*args: object, **kwargs: object) -> None:
        f.s3.objects[(BUCKET, w.archive_key)] = obj
        original(*args, **kwargs)  # type: ignore[arg-type]

    f.s3.complete_upload = racing_complete  # type: ignore[method-assign]
    again = copy_archive(f.services, settings(), w)
    assert (again.stage, again.upload_id) == (Stage.STORED, "")
    assert f.s3.uploads == {}


def test_a_missing_staging_object_fails_the_copy() -> None:
    f = fakes()
    with pytest.raises(StoreTaskFailed, match="missing"):
        copy_archive(f.services, settings(), work(1, Stage.STORED))


def test_a_throttled_part_keeps_the_upload_and_access_denied_aborts_it() -> None:
    f = fakes()
    w = copy_archive(f.services, settings(copy_concurrency=1), stored(f), time_budget_seconds=0.0)
    f.rec.fail_next("UploadPartCopy", Throttled("UploadPartCopy: SlowDown", code="SlowDown"))
    with pytest.raises(Throttled):
        copy_archive(f.services, settings(copy_concurrency=1), w)
    assert w.upload_id in f.s3.uploads  # the retry resumes it
    f.rec.fail_next("UploadPartCopy", AccessDenied("UploadPartCopy: AccessDenied", code="AccessDenied"))
    with pytest.raises(AccessDenied):
        copy_archive(f.services, settings(copy_concurrency=1), w)
    assert f.s3.uploads == {}


def test_other_stages_pass_through() -> None:
    f = fakes()
    for stage in (Stage.SELECTED, Stage.STORING, Stage.COPIED, Stage.VERIFIED, Stage.DONE):
        w = work(1, stage)
        assert copy_archive(f.services, settings(), w) is w
    assert f.rec.calls == []

"""verify_archive and delete_recovery_point against the fakes: what is compared, every idempotency
branch, and that nothing is deleted without a verified manifest."""

from __future__ import annotations

import pytest

from coldvault import keys
from coldvault.errors import AccessDenied, AwsError, VerificationFailed
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline import delete_recovery_point, verify_archive
from coldvault.pipeline.common import SOURCE_ARN_META
from tests.support.fakes import BUCKET, Fakes, fakes, settings, work

SIZE = 1000


def copied(f: Fakes, *, staging_crc: str = "crc", archive_crc: str = "crc", **archive: object) -> PointWork:
    w = work(1, Stage.COPIED)
    f.s3.put(BUCKET, keys.staging_key(w.ami_id), SIZE, checksum=staging_crc)
    fields: dict[str, object] = {
        "storage_class": "GLACIER_IR",
        "metadata": {SOURCE_ARN_META: w.point.arn},
        "checksum": archive_crc,
    }
    fields.update(archive)
    size = int(fields.pop("size", SIZE))
    f.s3.put(BUCKET, w.archive_key, size, **fields)
    f.backup.points[w.point.arn] = w.point
    return w


# --- verify -----------------------------------------------------------------------------------


def test_a_matching_archive_is_verified_recorded_and_the_staging_object_dropped() -> None:
    f = fakes()
    f.backup.tags[work(1).point.arn] = {"team": "a"}
    w = verify_archive(f.services, settings(), copied(f))
    assert (w.stage, w.checksum, w.archive_size) == (Stage.VERIFIED, "crc", SIZE)
    manifest = f.s3.objects[(BUCKET, w.manifest_key)].body
    assert manifest["verification"]["verified"] is True
    assert (BUCKET, keys.staging_key(w.ami_id)) not in f.s3.objects


@pytest.mark.parametrize(
    ("archive", "problem"),
    [
        ({"archive_crc": "other"}, "archive CRC64NVME other != stored object CRC64NVME crc"),
        ({"archive_crc": ""}, "no CRC64NVME"),
        ({"size": 999}, "archive size 999 != stored object size 1000"),
        ({"storage_class": "DEEP_ARCHIVE"}, "archive class DEEP_ARCHIVE != requested GLACIER_IR"),
        ({"metadata": {}}, "metadata does not name this point"),
    ],
)
def test_a_mismatch_keeps_everything(archive: dict[str, object], problem: str) -> None:
    f = fakes()
    w = copied(f, **archive)
    with pytest.raises(VerificationFailed, match=problem):
        verify_archive(f.services, settings(), w)
    assert (BUCKET, w.manifest_key) not in f.s3.objects
    assert (BUCKET, keys.staging_key(w.ami_id)) in f.s3.objects


def test_a_staging_object_without_crc64nvme_leaves_size_class_and_source() -> None:
    f = fakes()
    w = verify_archive(f.services, settings(), copied(f, staging_crc="", archive_crc="crc"))
    assert w.stage is Stage.VERIFIED


def test_no_archive_or_no_staging_object_is_a_failure() -> None:
    f = fakes()
    w = copied(f)
    f.s3.objects.pop((BUCKET, w.archive_key))
    with pytest.raises(VerificationFailed, match="no object at"):
        verify_archive(f.services, settings(), w)
    f.s3.objects.pop((BUCKET, keys.staging_key(w.ami_id)))
    with pytest.raises(VerificationFailed, match="staging object"):
        verify_archive(f.services, settings(), w)


def test_an_already_verified_archive_only_drops_the_leftover_staging_object() -> None:
    f = fakes()
    w = verify_archive(f.services, settings(), copied(f))
    f.s3.put(BUCKET, keys.staging_key(w.ami_id), SIZE)
    again = verify_archive(f.services, settings(), PointWork.from_json({**w.to_json(), "stage": "copied"}))
    assert again.stage is Stage.VERIFIED
    assert (BUCKET, keys.staging_key(w.ami_id)) not in f.s3.objects


def test_an_ec2_points_tags_come_from_its_ami_not_list_tags() -> None:
    """AWS Backup's ListTags may fail for EC2 recovery points (botocore model): verify never asks it."""
    f = fakes()
    f.rec.fail_next("ListTags", AwsError("ListTags: InvalidParameterValueException", code="Invalid"))
    w = verify_archive(f.services, settings(), copied(f))
    manifest = f.s3.objects[(BUCKET, w.manifest_key)].body
    assert f.rec.count("ListTags") == 0
    assert "InvalidParameterValueException" not in str(manifest)


def test_verify_content_compares_the_streamed_checksum() -> None:
    f = fakes()
    with pytest.raises(VerificationFailed, match="content checksum"):
        verify_archive(f.services, settings(verify_content=True), copied(f))


# --- delete -----------------------------------------------------------------------------------


def verified(f: Fakes) -> PointWork:
    return verify_archive(f.services, settings(), copied(f))


def test_deletion_is_confirmed_by_describe() -> None:
    f = fakes()
    w = delete_recovery_point(f.services, settings(), verified(f))
    assert (w.stage, w.outcome, w.deletion_pending) == (Stage.DONE, Outcome.ARCHIVED, "")
    assert f.backup.points == {}
    manifest = f.s3.objects[(BUCKET, w.manifest_key)].body
    assert manifest["deletion"]["state"] == "confirmed"


def test_a_point_already_gone_is_not_deleted_again() -> None:
    f = fakes()
    w = verified(f)
    f.backup.points.clear()
    assert delete_recovery_point(f.services, settings(), w).outcome is Outcome.ARCHIVED
    assert f.rec.count("DeleteRecoveryPoint") == 0


def test_a_point_already_deleting_is_confirmed() -> None:
    f = fakes()
    w = verified(f)
    f.backup.points[w.point.arn] = w.point.__class__(**{**w.point.__dict__, "status": "DELETING"})
    assert delete_recovery_point(f.services, settings(), w).outcome is Outcome.ARCHIVED
    assert f.rec.count("DeleteRecoveryPoint") == 0


def test_a_delete_answered_200_that_leaves_the_point_expired_is_retained() -> None:
    f = fakes()
    f.backup.on_delete = "expired"
    w = delete_recovery_point(f.services, settings(), verified(f))
    assert w.outcome is Outcome.RETAINED
    assert "still EXPIRED" in w.deletion_pending
    manifest = f.s3.objects[(BUCKET, w.manifest_key)].body
    assert manifest["deletion"]["state"] == "pending"
    assert (BUCKET, keys.pending_deletion_key(w.ami_id)) in f.s3.objects


def test_an_expired_point_is_deleted_again_and_confirmed() -> None:
    f = fakes()
    w = verified(f)
    f.backup.points[w.point.arn] = w.point.__class__(**{**w.point.__dict__, "status": "EXPIRED"})
    assert delete_recovery_point(f.services, settings(), w).outcome is Outcome.ARCHIVED


def test_a_denied_delete_is_retained_with_why() -> None:
    f = fakes()
    f.rec.fail_next(
        "DeleteRecoveryPoint", AccessDenied("DeleteRecoveryPoint: AccessDenied", code="AccessDenied")
    )
    w = delete_recovery_point(f.services, settings(), verified(f))
    assert w.outcome is Outcome.RETAINED
    assert w.deletion_pending.startswith("access denied")


def test_a_refused_delete_is_retained_with_why() -> None:
    f = fakes()
    f.rec.fail_next("DeleteRecoveryPoint", AwsError("DeleteRecoveryPoint: InvalidRequestException: held"))
    w = delete_recovery_point(f.services, settings(), verified(f))
    assert (w.outcome, w.deletion_pending) == (
        Outcome.RETAINED,
        "refused: DeleteRecoveryPoint: InvalidRequestException: held",
    )


def test_nothing_is_deleted_without_a_verified_manifest_or_with_a_changed_archive() -> None:
    f = fakes()
    w = verified(f)
    manifest = f.s3.objects.pop((BUCKET, w.manifest_key))
    with pytest.raises(VerificationFailed, match="no verified manifest"):
        delete_recovery_point(f.services, settings(), w)
    f.s3.objects[(BUCKET, w.manifest_key)] = manifest
    f.s3.objects[(BUCKET, w.archive_key)].size = 1
    with pytest.raises(VerificationFailed, match="changed since verification"):
        delete_recovery_point(f.services, settings(), w)
    assert f.rec.count("DeleteRecoveryPoint") == 0
    assert list(f.backup.points) == [w.point.arn]


def test_other_stages_pass_through() -> None:
    f = fakes()
    for stage in (Stage.SELECTED, Stage.STORED, Stage.COPYING, Stage.DONE):
        w = work(1, stage)
        assert verify_archive(f.services, settings(), w) is w
        assert delete_recovery_point(f.services, settings(), w) is w
    assert f.rec.calls == []

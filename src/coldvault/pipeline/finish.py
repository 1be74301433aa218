"""Steps 6–7: delete the recovery point and confirm it; publish the point's result."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from coldvault import keys, lease, manifest
from coldvault.config import Settings
from coldvault.errors import AccessDenied, AwsError, VerificationFailed
from coldvault.models import Outcome, PointWork, Stage, to_jsonable
from coldvault.pipeline.common import timed
from coldvault.pipeline.services import Services

RESULT_SCHEMA = "coldvault.result/1"
CONFIRMED_STATES = frozenset({"DELETING"})


def delete_recovery_point(svc: Services, settings: Settings, work: PointWork) -> PointWork:
    """Delete the recovery point and confirm with ``DescribeRecoveryPoint`` (gone, or ``DELETING``).

    Refuses to delete unless the catalogue holds a verified manifest for this archive key and the
    archive object is there with the manifest's size. A point that stays (answered 200 but
    ``EXPIRED``, Vault Lock, access denied) ends ``RETAINED`` with why; the manifest says so.
    """
    if work.stage is not Stage.VERIFIED:
        return work
    started = svc.clock.monotonic()
    bucket = settings.bucket
    record = manifest.read(svc.s3, bucket, work.manifest_key)
    archive = svc.s3.head(bucket, work.archive_key)
    if record is None or not manifest.is_verified(record, work.archive_key):
        raise VerificationFailed(f"{work.ami_id}: no verified manifest; the recovery point is kept")
    if archive is None or archive.size != record.archive.size:
        raise VerificationFailed(f"{work.ami_id}: archive missing or changed since verification; point kept")
    reason = ""
    current = svc.backup.describe_recovery_point(settings.vault, work.point.arn)
    if current is not None and current.status not in CONFIRMED_STATES:
        try:
            svc.backup.delete_recovery_point(settings.vault, work.point.arn)
        except AccessDenied as exc:
            reason = f"access denied: {exc.message}"
        except AwsError as exc:
            reason = f"refused: {exc.message}"
        svc.after_step("delete", work.ami_id)
        current = svc.backup.describe_recovery_point(settings.vault, work.point.arn)
    confirmed = current is None or current.status in CONFIRMED_STATES
    if not confirmed and not reason:
        reason = (
            f"still {current.status if current else '?'} after DeleteRecoveryPoint "
            "(AWS answers 200 without deleting when permissions are insufficient)"
        )
    manifest.record_deletion(
        svc.s3,
        bucket,
        record,
        confirmed=confirmed,
        reason="confirmed by DescribeRecoveryPoint" if confirmed else reason,
        at=svc.clock.now(),
    )
    return timed(
        work,
        "delete",
        started,
        svc,
        stage=Stage.DONE,
        outcome=Outcome.ARCHIVED if confirmed else Outcome.RETAINED,
        deletion_pending="" if confirmed else reason,
        archive_size=record.archive.size,
        checksum=record.archive.checksum_crc64nvme,
    )


def status_message(settings: Settings, work: PointWork) -> dict[str, Any]:
    """The per-point status message (SQS) and result object (S3): schema ``coldvault.result/1``."""
    point = work.point
    return {
        "schema": RESULT_SCHEMA,
        "run_id": work.run_id or settings.run_id,
        "ami_id": point.ami_id,
        "recovery_point_arn": point.arn,
        "vault": point.vault_name,
        "instance_id": point.instance_id,
        "account": point.source_account,
        "region": point.source_region,
        "created": to_jsonable(point.creation_date),
        "backup_size_bytes": point.backup_size_bytes,
        "outcome": (work.outcome or Outcome.FAILED).value,
        "bucket": settings.bucket,
        "archive_key": work.archive_key if work.outcome in (Outcome.ARCHIVED, Outcome.RETAINED) else "",
        "manifest_key": work.manifest_key if work.outcome in (Outcome.ARCHIVED, Outcome.RETAINED) else "",
        "storage_class": settings.storage_class.value,
        "archive_bytes": work.archive_size,
        "checksum_crc64nvme": work.checksum,
        "deletion_pending": work.deletion_pending,
        "error": work.error,
        "error_type": work.error_type,
        "durations_seconds": dict(work.timings),
    }


def publish_result(svc: Services, settings: Settings, work: PointWork) -> PointWork:
    """Write ``runs/<run-id>/results/<ami-id>.json``, send the SQS status message, release the lease."""
    if work.outcome is None:
        work = replace(work, outcome=Outcome.FAILED, error=work.error or "ended without an outcome")
    started = svc.clock.monotonic()
    message = status_message(settings, work)
    svc.s3.put_json(settings.bucket, keys.result_key(message["run_id"], work.ami_id), message)
    if settings.queue_url:
        svc.sqs.send(settings.queue_url, message)
    if work.outcome is not Outcome.LEASED:
        lease.release(svc.s3, settings.bucket, work.ami_id, svc.owner)
    return timed(work, "publish", started, svc, stage=Stage.DONE)


def new_work(settings: Settings, point: Any) -> PointWork:
    return PointWork(
        point=point,
        archive_key=keys.archive_key(point),
        manifest_key=keys.manifest_key(point.ami_id),
        run_id=settings.run_id,
    )

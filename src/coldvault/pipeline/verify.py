"""Step 5: verify the archive, write its manifest to the catalogue, delete the staging object."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from coldvault import keys, manifest
from coldvault.aws.backup import tags_listable
from coldvault.aws.s3 import ObjectInfo
from coldvault.config import Settings
from coldvault.errors import AwsError, ConfigurationError, VerificationFailed
from coldvault.models import PointWork, Stage
from coldvault.pipeline.common import is_ours, timed
from coldvault.pipeline.services import Services


def crc64nvme_base64(chunks: Iterable[bytes]) -> str:
    """The full-object CRC64NVME of a stream of byte chunks, base64 as S3 reports it.

    awscrt is imported here, not at module level: the Lambda package carries only coldvault's own
    code, so only ``--verify-content`` needs it.
    """
    try:
        from awscrt import checksums  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigurationError(
            "--verify-content needs the awscrt package", hint="pip install awscrt"
        ) from exc
    crc = 0
    for chunk in chunks:
        crc = checksums.crc64nvme(chunk, crc)
    return base64.b64encode(crc.to_bytes(8, "big")).decode()


def check(settings: Settings, work: PointWork, archive: ObjectInfo | None, staging: ObjectInfo) -> list[str]:
    """Every way the archive fails to match the staging object (empty: verified)."""
    if archive is None:
        return [f"no object at {work.archive_key}"]
    problems = []
    if not is_ours(archive.metadata, work):
        problems.append("the archive's source recovery point metadata does not name this point")
    if archive.size != staging.size:
        problems.append(f"archive size {archive.size} != stored object size {staging.size}")
    if archive.storage_class != settings.storage_class.value:
        problems.append(f"archive class {archive.storage_class} != requested {settings.storage_class.value}")
    if not archive.checksum:
        problems.append("S3 reports no CRC64NVME checksum for the archive")
    elif staging.checksum and archive.checksum != staging.checksum:
        # CRC64NVME is always a full-object checksum: the same bytes have the same one, however copied.
        problems.append(f"archive CRC64NVME {archive.checksum} != stored object CRC64NVME {staging.checksum}")
    return problems


def verify_archive(svc: Services, settings: Settings, work: PointWork) -> PointWork:
    """Check the archive against the staging object; record the manifest; delete the staging object.

    Raises :class:`VerificationFailed` (the recovery point is kept, the staging object too).
    """
    if work.stage is not Stage.COPIED:
        return work
    started = svc.clock.monotonic()
    bucket = settings.bucket
    staging_key = keys.staging_key(work.ami_id)
    if manifest.is_verified(manifest.read(svc.s3, bucket, work.manifest_key), work.archive_key):
        svc.s3.delete(bucket, staging_key)
        return timed(work, "verify", started, svc, stage=Stage.VERIFIED)
    staging = svc.s3.head(bucket, staging_key)
    if staging is None:
        raise VerificationFailed(f"staging object {staging_key} is missing: cannot compare", hint="run again")
    archive = svc.s3.head(bucket, work.archive_key)
    problems = check(settings, work, archive, staging)
    content_checked = False
    if not problems and settings.verify_content and archive is not None:
        computed = crc64nvme_base64(svc.s3.iter_body(bucket, staging_key))
        content_checked = True
        if computed != archive.checksum:
            problems.append(f"content checksum {computed} != archive checksum {archive.checksum}")
    if problems or archive is None:
        raise VerificationFailed(f"{work.ami_id}: " + "; ".join(problems))
    image = svc.ec2.describe_images([work.ami_id]).get(work.ami_id)
    tags_error = ""
    point_tags: dict[str, str] = {}
    try:
        if tags_listable(work.point.arn):
            point_tags = svc.backup.list_tags(work.point.arn)
        elif image is not None:  # an EC2 point's tags are its AMI's (ListTags may fail for its ARN)
            point_tags = dict(image.tags)
    except AwsError as exc:
        tags_error = exc.one_line()
    record = manifest.build(
        work,
        bucket=bucket,
        archive=archive,
        staging=staging,
        image=image,
        point_tags=point_tags,
        tags_error=tags_error,
        verified_at=svc.clock.now(),
        content_checked=content_checked,
        copy_seconds=work.timings.get("copy", 0.0),
    )
    manifest.write(svc.s3, bucket, record)
    svc.after_step("manifest", work.ami_id)
    svc.s3.delete(bucket, staging_key, if_match=staging.etag)
    return timed(
        work,
        "verify",
        started,
        svc,
        stage=Stage.VERIFIED,
        archive_size=archive.size,
        checksum=archive.checksum,
        staging_size=staging.size,
    )

"""The manifest: everything a restore or an auditor needs about one archive, in the hot catalogue.

Written by the verify step (pointers by recovery point ARN and by archive key first, then the manifest
itself, so a manifest's existence implies its pointers exist) and updated by the delete step with the
confirmed deletion, or why it is still pending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coldvault import keys
from coldvault.aws.ec2 import ImageInfo
from coldvault.aws.s3 import S3, ObjectInfo
from coldvault.models import PointWork, point_to_json

SCHEMA = "coldvault.manifest/1"


def build(
    work: PointWork,
    *,
    bucket: str,
    archive: ObjectInfo,
    staging: ObjectInfo,
    image: ImageInfo | None,
    point_tags: dict[str, str],
    tags_error: str,
    verified_at: datetime,
    content_checked: bool,
    copy_seconds: float,
) -> dict[str, Any]:
    point = work.point
    return {
        "schema": SCHEMA,
        "ami_id": point.ami_id,
        "run_id": work.run_id,
        "recovery_point": {**point_to_json(point), "tags": point_tags, "tags_error": tags_error},
        "source": {
            "account": point.source_account,
            "region": point.source_region,
            "instance_id": point.instance_id,
        },
        "ami": None
        if image is None
        else {
            "id": image.ami_id,
            "name": image.name,
            "description": image.description,
            "architecture": image.architecture,
            "root_device_type": image.root_device_type,
            "virtualization_type": image.virtualization_type,
            "block_devices": image.block_devices,
            "tags": image.tags,
        },
        "archive": {
            "bucket": bucket,
            "key": work.archive_key,
            "storage_class": archive.storage_class,
            "size": archive.size,
            "etag": archive.etag,
            "checksum_crc64nvme": archive.checksum,
            "checksum_type": archive.checksum_type,
            "metadata": archive.metadata,
            "copy_seconds": round(copy_seconds, 3),
        },
        "staging": {"key": keys.staging_key(point.ami_id), "size": staging.size, "etag": staging.etag},
        "verification": {
            "verified": True,
            "at": verified_at.isoformat(),
            "size_matches": archive.size == staging.size,
            "storage_class_matches": True,
            "checksum_recorded": bool(archive.checksum),
            "content_checked": content_checked,
        },
        "deletion": {"state": "pending", "reason": "not attempted yet", "at": None},
    }


def write(s3: S3, bucket: str, manifest: dict[str, Any]) -> None:
    ami_id = str(manifest["ami_id"])
    key = keys.manifest_key(ami_id)
    pointer = {"manifest_key": key, "ami_id": ami_id}
    s3.put_json(bucket, keys.recovery_point_pointer_key(manifest["recovery_point"]["arn"]), pointer)
    s3.put_json(bucket, keys.archive_pointer_key(manifest["archive"]["key"]), pointer)
    if manifest["deletion"]["state"] != "confirmed":
        s3.put_json(
            bucket,
            keys.pending_deletion_key(ami_id),
            {**pointer, "vault": manifest["recovery_point"]["vault_name"]},
        )
    s3.put_json(bucket, key, manifest)


def is_verified(manifest: dict[str, Any] | None, archive_key: str) -> bool:
    if not manifest:
        return False
    return bool(manifest.get("verification", {}).get("verified")) and (
        manifest.get("archive", {}).get("key") == archive_key
    )


def record_deletion(
    s3: S3, bucket: str, manifest: dict[str, Any], *, confirmed: bool, reason: str, at: datetime
) -> dict[str, Any]:
    updated = dict(manifest)
    updated["deletion"] = {
        "state": "confirmed" if confirmed else "pending",
        "reason": reason,
        "at": at.isoformat(),
    }
    s3.put_json(bucket, keys.manifest_key(str(manifest["ami_id"])), updated)
    if confirmed:
        s3.delete(bucket, keys.pending_deletion_key(str(manifest["ami_id"])))
    return updated

"""S3 for the restore path: an archive's class and restore state, ``RestoreObject``, bucket Region.

Every function takes an S3 client; none reads an archive's body. ``IAM_ACTIONS`` names the IAM
actions each function calls (the deployment grants exactly these).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import botocore.exceptions

from coldvault.aws.errors import error_code, translate
from coldvault.aws.s3 import region_of_location
from coldvault.errors import PreflightError

IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "head_archive": ("s3:GetObject",),
    "request_restore": ("s3:RestoreObject",),
    "bucket_region": ("s3:GetBucketLocation",),
}


class RestoreStatus(enum.StrEnum):
    """Where an archived object stands with respect to ``RestoreObject``."""

    NONE = "none"  # cold, no restore requested (or the restored copy expired)
    IN_PROGRESS = "in progress"  # Restore: ongoing-request="true"
    READABLE = "readable"  # Restore: ongoing-request="false" (a temporary copy), or a class read at once


@dataclass(frozen=True)
class ArchiveState:
    """What ``HeadObject`` says about an archive object."""

    key: str
    storage_class: str
    size: int
    restore: RestoreStatus
    restore_expiry: datetime | None = None
    etag: str = ""

    @property
    def readable(self) -> bool:
        return self.restore is RestoreStatus.READABLE


class RestoreRequest(enum.StrEnum):
    """The outcome of one ``RestoreObject`` call."""

    STARTED = "started"  # 202: a new restore was accepted
    ALREADY_READABLE = "already readable"  # 200: a restored copy exists (its expiry was extended)
    ALREADY_IN_PROGRESS = "already in progress"  # RestoreAlreadyInProgress: no second request made
    # 503 GlacierExpeditedRetrievalNotAvailable: no Expedited capacity now (S3 API reference,
    # RestoreObject); nothing was started.
    EXPEDITED_UNAVAILABLE = "expedited unavailable"


_ONGOING_RE = re.compile(r'ongoing-request="(?P<ongoing>true|false)"')
_EXPIRY_RE = re.compile(r'expiry-date="(?P<expiry>[^"]+)"')
_NEEDS_RESTORE = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def parse_restore_header(storage_class: str, header: str | None) -> tuple[RestoreStatus, datetime | None]:
    """The restore status from an object's class and its ``Restore`` header (pure)."""
    if storage_class not in _NEEDS_RESTORE:
        return RestoreStatus.READABLE, None
    if not header:
        return RestoreStatus.NONE, None
    ongoing = _ONGOING_RE.search(header)
    if ongoing and ongoing.group("ongoing") == "true":
        return RestoreStatus.IN_PROGRESS, None
    expiry_match = _EXPIRY_RE.search(header)
    expiry = parsedate_to_datetime(expiry_match.group("expiry")) if expiry_match else None
    return RestoreStatus.READABLE, expiry


def head_archive(client: Any, bucket: str, key: str) -> ArchiveState | None:
    """The archive's class, size and restore state; ``None`` when there is no such object."""
    try:
        response = client.head_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise translate(exc, "HeadObject") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "HeadObject") from exc
    storage_class = str(response.get("StorageClass") or "STANDARD")
    status, expiry = parse_restore_header(storage_class, response.get("Restore"))
    return ArchiveState(
        key=key,
        storage_class=storage_class,
        size=int(response.get("ContentLength", 0)),
        restore=status,
        restore_expiry=expiry,
        etag=str(response.get("ETag", "")).strip('"'),
    )


def request_restore(client: Any, bucket: str, key: str, *, days: int, tier: str) -> RestoreRequest:
    """``RestoreObject`` for ``days`` at ``tier``; a restore already running is not an error."""
    try:
        response = client.restore_object(
            Bucket=bucket,
            Key=key,
            RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}},
        )
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "RestoreAlreadyInProgress":
            return RestoreRequest.ALREADY_IN_PROGRESS
        if error_code(exc) == "GlacierExpeditedRetrievalNotAvailable" and tier == "Expedited":
            return RestoreRequest.EXPEDITED_UNAVAILABLE
        raise translate(exc, "RestoreObject") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "RestoreObject") from exc
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 202))
    return RestoreRequest.ALREADY_READABLE if status == 200 else RestoreRequest.STARTED


def bucket_region(client: Any, bucket: str) -> str:
    """The bucket's Region (``GetBucketLocation``; an empty constraint means us-east-1)."""
    try:
        response = client.get_bucket_location(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in {"NoSuchBucket", "404"}:
            raise PreflightError(
                f"bucket {bucket!r} does not exist", hint="check --bucket (or the bucket under --config)"
            ) from exc
        raise translate(exc, "GetBucketLocation") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "GetBucketLocation") from exc
    return region_of_location(response.get("LocationConstraint"))

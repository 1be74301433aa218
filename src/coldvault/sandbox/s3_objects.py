"""Objects the sandbox's EC2 store/restore tasks write to and read from moto's S3 backend.

A stored AMI is written the way EC2 writes it: one object, uploaded with a multipart upload
(CreateMultipartUpload → UploadPart × n → CompleteMultipartUpload) through moto's S3 models, so
its ETag is a multipart ETag (``"…-N"``). Its body starts with a small header (:data:`MAGIC` and
one JSON line) that holds what a restore needs — block devices, architecture, name — followed by
pseudo-random bytes derived from the AMI id, so the same AMI always gives the same bytes and
checksums. The header travels with the body, so an archive copied elsewhere (even with its
metadata replaced) can still be restored, as a real stored AMI can.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

MAGIC = b"COLDVAULT-SANDBOX-STORED-AMI/1\n"
USER_METADATA_LIMIT = 2048  # S3: user-defined metadata, keys and values in UTF-8, at most 2 KB
META_PREFIX = "x-amz-meta-"
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
DEFAULT_PART_SIZE = 8 * 1024 * 1024


class StoredObjectError(Exception):
    """The object cannot be written or read as a stored AMI; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def s3_backend(account_id: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account_id]["aws"]


def find_bucket(account_id: str, bucket: str) -> Any | None:
    """moto's bucket object, or None when there is no such bucket."""
    from moto.s3.exceptions import MissingBucket

    try:
        return s3_backend(account_id).get_bucket(bucket)
    except MissingBucket:
        return None


def object_exists(account_id: str, bucket: str, key: str) -> bool:
    found = find_bucket(account_id, bucket)
    return found is not None and key in found.keys


def stored_body(ami_id: str, header: dict[str, Any], size: int) -> bytes:
    """The object body: the header, then bytes derived from the AMI id, ``size`` bytes in all
    (never shorter than the header itself)."""
    head = MAGIC + json.dumps(header, separators=(",", ":"), sort_keys=True).encode() + b"\n"
    filler = max(0, size - len(head))
    return head + hashlib.shake_256(ami_id.encode()).digest(filler)


def fit_metadata(values: list[tuple[str, str]], shrinkable: str) -> dict[str, str]:
    """``x-amz-meta-*`` headers for ``values`` (name without prefix, value), the value named
    ``shrinkable`` truncated so that the whole fits S3's 2 KB user-metadata limit (counted with
    the ``x-amz-meta-`` prefix, the stricter reading)."""
    fixed = sum(len((META_PREFIX + k).encode()) + len(v.encode()) for k, v in values if k != shrinkable)
    result: dict[str, str] = {}
    for name, value in values:
        if name == shrinkable:
            room = USER_METADATA_LIMIT - fixed - len((META_PREFIX + name).encode())
            encoded = value.encode()[: max(0, room)]
            value = encoded.decode("utf-8", errors="ignore")
        result[META_PREFIX + name] = value
    return result


def metadata_size(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items() if k.startswith(META_PREFIX))


def check_object_tags(tags: dict[str, str]) -> None:
    """S3's rules for object tags (at most 10, keys ≤ 128 and values ≤ 256 characters, no ``aws:``
    keys); raises :class:`StoredObjectError` with code ``InvalidParameterValue``."""
    if len(tags) > 10:
        raise StoredObjectError(
            "InvalidParameterValue",
            f"S3ObjectTags has {len(tags)} tags; an S3 object can carry at most 10 tags.",
        )
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise StoredObjectError(
                "InvalidParameterValue",
                f"S3ObjectTags key {key!r} begins with 'aws:', which is reserved for AWS use.",
            )
        if not key or len(key) > 128 or len(value) > 256:
            raise StoredObjectError(
                "InvalidParameterValue",
                f"S3ObjectTags tag {key!r}: keys must be 1-128 and values 0-256 characters long.",
            )


def write_multipart(
    account_id: str,
    bucket: str,
    key: str,
    body: bytes,
    metadata: dict[str, str],
    tags: dict[str, str],
) -> str:
    """Write ``body`` at ``bucket``/``key`` with a multipart upload through moto's S3 models;
    returns the ETag. Parts are 8 MiB (or moto's minimum part size, whichever is larger) except
    the last."""
    from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE
    from moto.s3.utils import CaseInsensitiveDict

    backend = s3_backend(account_id)
    part_size = max(DEFAULT_PART_SIZE, S3_UPLOAD_PART_MIN_SIZE)
    meta = CaseInsensitiveDict(metadata)
    upload = backend.create_multipart_upload(
        bucket_name=bucket,
        key_name=key,
        metadata=meta,
        storage_type="STANDARD",
        tags=tags,
        acl=None,
        sse_encryption=None,
        kms_key_id=None,
    )
    etags: list[tuple[int, str]] = []
    offsets = range(0, max(len(body), 1), part_size)
    for number, offset in enumerate(offsets, start=1):
        part = backend.upload_part(bucket, upload.id, number, body[offset : offset + part_size])
        etags.append((number, part.etag))
    stored = backend.complete_multipart_upload(bucket, upload.id, iter(etags))
    return str(stored.etag)


@dataclass(frozen=True)
class StoredObject:
    """What a restore learns from a stored AMI object."""

    header: dict[str, Any]
    size: int
    metadata: dict[str, str]


def read_stored(account_id: str, region: str, bucket: str, key: str) -> StoredObject:
    """Read ``bucket``/``key`` as a stored AMI, with the checks a restore makes: the bucket exists
    in ``region``, the object exists and is readable (an archived object needs a completed
    restore), and its body is a stored AMI."""
    found = find_bucket(account_id, bucket)
    if found is None:
        raise StoredObjectError("InvalidParameterValue", f"The S3 bucket {bucket!r} does not exist.")
    if found.region_name != region:
        raise StoredObjectError(
            "InvalidParameterValue",
            f"The S3 bucket {bucket!r} is in {found.region_name}; it must be in {region}, "
            "the Region of the request.",
        )
    obj = found.keys.get(key)
    if obj is None or not hasattr(obj, "value"):
        raise StoredObjectError("InvalidParameterValue", f"The S3 object s3://{bucket}/{key} does not exist.")
    if obj.storage_class in ARCHIVE_CLASSES:
        restored = obj.expiry_date is not None and getattr(obj, "status", None) != "IN_PROGRESS"
        if not restored:
            state = "is being restored" if obj.expiry_date is not None else "has not been restored"
            raise StoredObjectError(
                "IncorrectState",
                f"The S3 object s3://{bucket}/{key} is in the {obj.storage_class} storage class and "
                f"{state}: it is not readable until a RestoreObject request has completed.",
            )
    value: bytes = obj.value
    if not value.startswith(MAGIC):
        raise StoredObjectError(
            "InvalidParameterValue",
            f"The S3 object s3://{bucket}/{key} is not an AMI stored by CreateStoreImageTask.",
        )
    line_end = value.index(b"\n", len(MAGIC))
    header = json.loads(value[len(MAGIC) : line_end])
    metadata = {k: str(v) for k, v in obj.metadata.items()}
    return StoredObject(header=header, size=len(value), metadata=metadata)

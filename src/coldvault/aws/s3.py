"""S3: objects, copies, multipart uploads, conditional writes, Glacier restores, bucket checks.

One adapter over one S3 client for both engines; each method declares its IAM actions with
:func:`~coldvault.aws.permissions.permissions`. The restore side never reads an archive's body: it
reads the object's class and ``Restore`` header (:mod:`coldvault.aws.s3_glacier`) and asks for a
temporary readable copy with ``RestoreObject``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from coldvault.aws.errors import aws_call, error_code, translate
from coldvault.aws.permissions import permissions
from coldvault.aws.s3_glacier import ArchiveState, RestoreRequest, parse_restore_header
from coldvault.errors import NotFound, PreflightError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import ChecksumAlgorithmType, StorageClassType, TierType

CHECKSUM_ALGORITHM: ChecksumAlgorithmType = "CRC64NVME"


class PreconditionFailed(Exception):
    """A conditional write or delete did not hold (the object exists / changed)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    storage_class: str
    metadata: dict[str, str] = field(default_factory=dict)
    checksum: str = ""  # base64 CRC64NVME when S3 reports one
    checksum_type: str = ""
    tag_count: int = 0
    lock_mode: str = ""  # the Object Lock retention mode HeadObject reports ("" when not locked)
    lock_until: datetime | None = None


@dataclass(frozen=True)
class BucketSecurity:
    region: str
    blocks_public_access: bool
    encryption: str  # "" when none


@dataclass(frozen=True)
class Upload:
    key: str
    upload_id: str


@dataclass(frozen=True)
class Part:
    """One part of a multipart upload: its ETag, size and CRC64NVME (base64; "" when S3 gave none)."""

    etag: str
    size: int = 0
    checksum: str = ""


def region_of_location(constraint: str | None) -> str:
    """The Region a ``GetBucketLocation`` ``LocationConstraint`` names: none (null or empty) is
    us-east-1 and ``EU``, the legacy name some old buckets still answer, is eu-west-1 (S3 API
    reference, GetBucketLocation)."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def _utc(value: Any) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


class S3:
    """Thin adapter over a boto3 ``s3`` client."""

    def __init__(self, client: S3Client) -> None:
        self.client = client

    # -- objects -----------------------------------------------------------------------------
    @permissions("s3:GetObject")
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """HeadObject with checksum mode; None when absent."""
        try:
            with aws_call("HeadObject"):
                r: Mapping[str, Any] = self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except NotFound:
            return None
        return ObjectInfo(
            key=key,
            size=int(r.get("ContentLength", 0)),
            etag=str(r.get("ETag", "")),
            storage_class=str(r.get("StorageClass") or "STANDARD"),
            metadata=dict(r.get("Metadata") or {}),
            checksum=str(r.get("ChecksumCRC64NVME") or ""),
            checksum_type=str(r.get("ChecksumType") or ""),
            tag_count=int(r.get("TagCount") or 0),
            lock_mode=str(r.get("ObjectLockMode") or ""),
            lock_until=_utc(r.get("ObjectLockRetainUntilDate")),
        )

    @permissions("s3:GetObject")
    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """A JSON document; None when absent."""
        try:
            with aws_call("GetObject"):
                r = self.client.get_object(Bucket=bucket, Key=key)
                body = r["Body"].read()
        except NotFound:
            return None
        value = json.loads(body)
        return value if isinstance(value, dict) else None

    @permissions("s3:GetObject")
    def get_json_with_etag(self, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
        try:
            with aws_call("GetObject"):
                r = self.client.get_object(Bucket=bucket, Key=key)
                body = r["Body"].read()
        except NotFound:
            return None
        return json.loads(body), str(r.get("ETag", ""))

    @permissions("s3:GetObject")
    def iter_body(self, bucket: str, key: str, chunk_size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        """An object's body, streamed in chunks."""
        with aws_call("GetObject"):
            r = self.client.get_object(Bucket=bucket, Key=key)
            yield from r["Body"].iter_chunks(chunk_size)

    @permissions("s3:PutObject")
    def put_json(
        self,
        bucket: str,
        key: str,
        value: Any,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        content_type: str = "application/json",
    ) -> str:
        """PutObject; conditional when asked (raises :class:`PreconditionFailed`). Returns the ETag."""
        body = value if isinstance(value, bytes) else json.dumps(value, indent=1, sort_keys=True).encode()
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body, "ContentType": content_type}
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match:
            kwargs["IfMatch"] = if_match
        try:
            r = self.client.put_object(**kwargs)
        except Exception as exc:
            if error_code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise PreconditionFailed(key) from exc
            raise translate(exc, "PutObject") from exc
        return str(r.get("ETag", ""))

    @permissions("s3:DeleteObject")
    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """DeleteObject (absent is fine)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if if_match:
            kwargs["IfMatch"] = if_match
        try:
            self.client.delete_object(**kwargs)
        except Exception as exc:
            code = error_code(exc)
            if code in {"PreconditionFailed", "412"}:
                raise PreconditionFailed(key) from exc
            if code in {"NoSuchKey", "404"}:
                return
            raise translate(exc, "DeleteObject") from exc

    @permissions("s3:ListBucket")
    def iter_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """The keys under a prefix (ListObjectsV2), streamed."""
        paginator = self.client.get_paginator("list_objects_v2")
        with aws_call("ListObjectsV2"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])

    # -- copies ------------------------------------------------------------------------------
    @permissions("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")
    def copy(
        self,
        bucket: str,
        source_key: str,
        key: str,
        *,
        storage_class: str,
        metadata: dict[str, str],
        tags: dict[str, str],
    ) -> None:
        """One CopyObject (<= 5 GB), replacing metadata and tags."""
        with aws_call("CopyObject"):
            self.client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": source_key},
                StorageClass=cast("StorageClassType", storage_class),
                MetadataDirective="REPLACE",
                Metadata=metadata,
                TaggingDirective="REPLACE",
                Tagging=urlencode(tags),
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            )

    @permissions("s3:PutObject")
    def create_upload(
        self, bucket: str, key: str, *, storage_class: str, metadata: dict[str, str], tags: dict[str, str]
    ) -> str:
        """CreateMultipartUpload with a full-object CRC64NVME checksum; the upload id."""
        with aws_call("CreateMultipartUpload"):
            r = self.client.create_multipart_upload(
                Bucket=bucket,
                Key=key,
                StorageClass=cast("StorageClassType", storage_class),
                Metadata=metadata,
                Tagging=urlencode(tags),
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
                ChecksumType="FULL_OBJECT",
            )
        return str(r["UploadId"])

    @permissions("s3:GetObject", "s3:PutObject")
    def copy_part(
        self, bucket: str, source_key: str, key: str, upload_id: str, number: int, first: int, last: int
    ) -> Part:
        """UploadPartCopy of one byte range: the part's ETag, size and CRC64NVME
        (``CopyPartResult.ChecksumCRC64NVME``, present when the upload was created with CRC64NVME)."""
        with aws_call("UploadPartCopy"):
            r = self.client.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": bucket, "Key": source_key},
                CopySourceRange=f"bytes={first}-{last}",
            )
        result = r["CopyPartResult"]
        return Part(str(result["ETag"]), last - first + 1, str(result.get("ChecksumCRC64NVME") or ""))

    @permissions("s3:ListMultipartUploadParts")
    def list_parts(self, bucket: str, key: str, upload_id: str) -> dict[int, Part]:
        """ListParts: part number -> its ETag, size and CRC64NVME; empty if the upload is gone."""
        parts: dict[int, Part] = {}
        paginator = self.client.get_paginator("list_parts")
        try:
            with aws_call("ListParts"):
                for page in paginator.paginate(Bucket=bucket, Key=key, UploadId=upload_id):
                    for p in page.get("Parts", []):
                        parts[int(p["PartNumber"])] = Part(
                            str(p["ETag"]), int(p["Size"]), str(p.get("ChecksumCRC64NVME") or "")
                        )
        except NotFound:
            return {}
        return parts

    @permissions("s3:PutObject")
    def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: dict[int, Part],
        *,
        checksum: str = "",
        size: int = 0,
    ) -> None:
        """CompleteMultipartUpload, refusing to replace an existing object.

        Every part is sent with its CRC64NVME when known; with ``checksum`` (the expected full-object
        CRC64NVME) S3 checks the assembled object against it (``ChecksumType=FULL_OBJECT``, as the
        upload was created) and with ``size`` its length (``MpuObjectSize``), refusing a mismatch.
        """
        completed: list[dict[str, Any]] = []
        for n in sorted(parts):
            entry: dict[str, Any] = {"PartNumber": n, "ETag": parts[n].etag}
            if parts[n].checksum:
                entry["ChecksumCRC64NVME"] = parts[n].checksum
            completed.append(entry)
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload_id,
            "MultipartUpload": {"Parts": completed},
            "IfNoneMatch": "*",
        }
        if checksum:
            kwargs["ChecksumCRC64NVME"] = checksum
            kwargs["ChecksumType"] = "FULL_OBJECT"
        if size:
            kwargs["MpuObjectSize"] = size
        try:
            self.client.complete_multipart_upload(**kwargs)
        except Exception as exc:
            if error_code(exc) in {"PreconditionFailed", "412"}:
                raise PreconditionFailed(key) from exc
            raise translate(exc, "CompleteMultipartUpload") from exc

    @permissions("s3:AbortMultipartUpload")
    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload (already gone is fine)."""
        try:
            with aws_call("AbortMultipartUpload"):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except NotFound:
            return

    @permissions("s3:ListBucketMultipartUploads")
    def list_uploads(self, bucket: str, prefix: str) -> list[Upload]:
        """The multipart uploads under a prefix."""
        uploads: list[Upload] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        with aws_call("ListMultipartUploads"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                uploads.extend(Upload(str(u["Key"]), str(u["UploadId"])) for u in page.get("Uploads", []))
        return uploads

    # -- buckets -----------------------------------------------------------------------------
    @permissions(
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
    )
    def bucket_security(self, bucket: str) -> BucketSecurity:
        """HeadBucket, its Region, public access block and default encryption. Raises NotFound
        when the bucket does not exist."""
        with aws_call("HeadBucket"):
            self.client.head_bucket(Bucket=bucket)
        with aws_call("GetBucketLocation"):
            location: Mapping[str, Any] = self.client.get_bucket_location(Bucket=bucket)
        region = region_of_location(location.get("LocationConstraint"))
        blocks = False
        try:
            access: Mapping[str, Any] = self.client.get_public_access_block(Bucket=bucket)
            cfg = access.get("PublicAccessBlockConfiguration", {})
            blocks = all(
                cfg.get(k)
                for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            )
        except Exception as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise translate(exc, "GetPublicAccessBlock") from exc
        encryption = ""
        try:
            default: Mapping[str, Any] = self.client.get_bucket_encryption(Bucket=bucket)
            rules = default.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            if rules:
                encryption = str(
                    rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "")
                )
        except Exception as exc:
            if error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise translate(exc, "GetBucketEncryption") from exc
        return BucketSecurity(region=str(region), blocks_public_access=blocks, encryption=encryption)

    @permissions("s3:ListAllMyBuckets")
    def bucket_names(self) -> list[str]:
        """The names of the account's buckets (ListBuckets)."""
        with aws_call("ListBuckets"):
            response = self.client.list_buckets()
        return [str(b["Name"]) for b in response.get("Buckets", []) if "Name" in b]

    @permissions("s3:GetBucketLocation")
    def bucket_region(self, bucket: str) -> str:
        """The bucket's Region (``GetBucketLocation``; an empty constraint means us-east-1)."""
        try:
            with aws_call("GetBucketLocation"):
                response: Mapping[str, Any] = self.client.get_bucket_location(Bucket=bucket)
        except NotFound as exc:
            if exc.code not in {"NoSuchBucket", "404"}:
                raise
            raise PreflightError(
                f"bucket {bucket!r} does not exist", hint="check --bucket (or the bucket under --config)"
            ) from exc
        return region_of_location(response.get("LocationConstraint"))

    # -- Glacier restores ---------------------------------------------------------------------
    @permissions("s3:GetObject")
    def head_archive(self, bucket: str, key: str) -> ArchiveState | None:
        """The archive's class, size and restore state (HeadObject); ``None`` when there is none."""
        try:
            with aws_call("HeadObject"):
                response: Mapping[str, Any] = self.client.head_object(Bucket=bucket, Key=key)
        except NotFound:
            return None
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

    @permissions("s3:RestoreObject")
    def request_restore(self, bucket: str, key: str, *, days: int, tier: str) -> RestoreRequest:
        """``RestoreObject`` for ``days`` at ``tier``; a restore already running is not an error."""
        try:
            response = self.client.restore_object(
                Bucket=bucket,
                Key=key,
                RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": cast("TierType", tier)}},
            )
        except Exception as exc:
            if error_code(exc) == "RestoreAlreadyInProgress":
                return RestoreRequest.ALREADY_IN_PROGRESS
            if error_code(exc) == "GlacierExpeditedRetrievalNotAvailable" and tier == "Expedited":
                return RestoreRequest.EXPEDITED_UNAVAILABLE
            raise translate(exc, "RestoreObject") from exc
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 202))
        return RestoreRequest.ALREADY_READABLE if status == 200 else RestoreRequest.STARTED

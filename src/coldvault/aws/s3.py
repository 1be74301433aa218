"""S3: objects, copies, multipart uploads, conditional writes (IAM actions named per method)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from coldvault.aws.errors import aws_call, translate
from coldvault.errors import NotFound

CHECKSUM_ALGORITHM = "CRC64NVME"


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


@dataclass(frozen=True)
class BucketSecurity:
    region: str
    blocks_public_access: bool
    encryption: str  # "" when none


@dataclass(frozen=True)
class Upload:
    key: str
    upload_id: str


def region_of_location(constraint: str | None) -> str:
    """The Region a ``GetBucketLocation`` ``LocationConstraint`` names: none (null or empty) is
    us-east-1 and ``EU``, the legacy name some old buckets still answer, is eu-west-1 (S3 API
    reference, GetBucketLocation)."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", ""))


class S3:
    """Thin adapter over a boto3 ``s3`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    # -- objects -----------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """``s3:GetObject`` (HeadObject with checksum mode); None when absent."""
        try:
            with aws_call("HeadObject"):
                r = self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
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
        )

    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """``s3:GetObject`` of a JSON document; None when absent."""
        try:
            with aws_call("GetObject"):
                r = self.client.get_object(Bucket=bucket, Key=key)
                body = r["Body"].read()
        except NotFound:
            return None
        value = json.loads(body)
        return value if isinstance(value, dict) else None

    def get_json_with_etag(self, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
        try:
            with aws_call("GetObject"):
                r = self.client.get_object(Bucket=bucket, Key=key)
                body = r["Body"].read()
        except NotFound:
            return None
        return json.loads(body), str(r.get("ETag", ""))

    def iter_body(self, bucket: str, key: str, chunk_size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        """``s3:GetObject`` streamed in chunks."""
        with aws_call("GetObject"):
            r = self.client.get_object(Bucket=bucket, Key=key)
            yield from r["Body"].iter_chunks(chunk_size)

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
        """``s3:PutObject``; conditional when asked (raises :class:`PreconditionFailed`). Returns the ETag."""
        body = value if isinstance(value, bytes) else json.dumps(value, indent=1, sort_keys=True).encode()
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body, "ContentType": content_type}
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match:
            kwargs["IfMatch"] = if_match
        try:
            r = self.client.put_object(**kwargs)
        except Exception as exc:
            if _code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise PreconditionFailed(key) from exc
            raise translate(exc, "PutObject") from exc
        return str(r.get("ETag", ""))

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """``s3:DeleteObject`` (absent is fine)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if if_match:
            kwargs["IfMatch"] = if_match
        try:
            self.client.delete_object(**kwargs)
        except Exception as exc:
            code = _code(exc)
            if code in {"PreconditionFailed", "412"}:
                raise PreconditionFailed(key) from exc
            if code in {"NoSuchKey", "404"}:
                return
            raise translate(exc, "DeleteObject") from exc

    def iter_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """``s3:ListBucket``, streamed."""
        paginator = self.client.get_paginator("list_objects_v2")
        with aws_call("ListObjectsV2"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])

    # -- copies ------------------------------------------------------------------------------
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
        """``s3:GetObject`` + ``s3:PutObject`` (+ ``s3:PutObjectTagging``): one CopyObject (<= 5 GB)."""
        with aws_call("CopyObject"):
            self.client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": source_key},
                StorageClass=storage_class,
                MetadataDirective="REPLACE",
                Metadata=metadata,
                TaggingDirective="REPLACE",
                Tagging=urlencode(tags),
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            )

    def create_upload(
        self, bucket: str, key: str, *, storage_class: str, metadata: dict[str, str], tags: dict[str, str]
    ) -> str:
        """``s3:PutObject`` (CreateMultipartUpload) with a full-object CRC64NVME checksum; the upload id."""
        with aws_call("CreateMultipartUpload"):
            r = self.client.create_multipart_upload(
                Bucket=bucket,
                Key=key,
                StorageClass=storage_class,
                Metadata=metadata,
                Tagging=urlencode(tags),
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
                ChecksumType="FULL_OBJECT",
            )
        return str(r["UploadId"])

    def copy_part(
        self, bucket: str, source_key: str, key: str, upload_id: str, number: int, first: int, last: int
    ) -> str:
        """``s3:GetObject`` + ``s3:PutObject`` (UploadPartCopy); the part's ETag."""
        with aws_call("UploadPartCopy"):
            r = self.client.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": bucket, "Key": source_key},
                CopySourceRange=f"bytes={first}-{last}",
            )
        return str(r["CopyPartResult"]["ETag"])

    def list_parts(self, bucket: str, key: str, upload_id: str) -> dict[int, tuple[str, int]]:
        """``s3:ListMultipartUploadParts``: part number -> (ETag, size); empty if the upload is gone."""
        parts: dict[int, tuple[str, int]] = {}
        paginator = self.client.get_paginator("list_parts")
        try:
            with aws_call("ListParts"):
                for page in paginator.paginate(Bucket=bucket, Key=key, UploadId=upload_id):
                    for p in page.get("Parts", []):
                        parts[int(p["PartNumber"])] = (str(p["ETag"]), int(p["Size"]))
        except NotFound:
            return {}
        return parts

    def complete_upload(self, bucket: str, key: str, upload_id: str, etags: dict[int, str]) -> None:
        """``s3:PutObject`` (CompleteMultipartUpload), refusing to replace an existing object."""
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
        try:
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
            )
        except Exception as exc:
            if _code(exc) in {"PreconditionFailed", "412"}:
                raise PreconditionFailed(key) from exc
            raise translate(exc, "CompleteMultipartUpload") from exc

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """``s3:AbortMultipartUpload`` (already gone is fine)."""
        try:
            with aws_call("AbortMultipartUpload"):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except NotFound:
            return

    def list_uploads(self, bucket: str, prefix: str) -> list[Upload]:
        """``s3:ListBucketMultipartUploads`` under a prefix."""
        uploads: list[Upload] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        with aws_call("ListMultipartUploads"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                uploads.extend(Upload(str(u["Key"]), str(u["UploadId"])) for u in page.get("Uploads", []))
        return uploads

    # -- buckets -----------------------------------------------------------------------------
    def bucket_security(self, bucket: str) -> BucketSecurity:
        """``s3:ListBucket`` (HeadBucket), ``s3:GetBucketLocation``, ``s3:GetBucketPublicAccessBlock``,
        ``s3:GetEncryptionConfiguration``. Raises NotFound when the bucket does not exist."""
        with aws_call("HeadBucket"):
            self.client.head_bucket(Bucket=bucket)
        with aws_call("GetBucketLocation"):
            region = region_of_location(
                self.client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
            )
        blocks = False
        try:
            r = self.client.get_public_access_block(Bucket=bucket)
            cfg = r.get("PublicAccessBlockConfiguration", {})
            blocks = all(
                cfg.get(k)
                for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            )
        except Exception as exc:
            if _code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise translate(exc, "GetPublicAccessBlock") from exc
        encryption = ""
        try:
            r = self.client.get_bucket_encryption(Bucket=bucket)
            rules = r.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            if rules:
                encryption = str(
                    rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "")
                )
        except Exception as exc:
            if _code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise translate(exc, "GetBucketEncryption") from exc
        return BucketSecurity(region=str(region), blocks_public_access=blocks, encryption=encryption)

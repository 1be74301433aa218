"""Multipart uploads created with a checksum algorithm, as S3 treats them: each part's checksum is
returned by UploadPartCopy and ListParts, and CompleteMultipartUpload refuses a part listed without
its checksum (InvalidRequest, S3's message) or with another one (InvalidPart)."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest
from awscrt import checksums
from botocore.exceptions import ClientError

from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

BUCKET = "multipart-checks"
MIB = 1024 * 1024


def _crc(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


@pytest.fixture
def s3(aws_env: dict[str, str]) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="source", Body=b"a" * (5 * MIB) + b"b" * MIB)
    return client


def _two_part_copy(s3: Any) -> tuple[str, list[dict[str, Any]]]:
    upload = s3.create_multipart_upload(
        Bucket=BUCKET, Key="copy", ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    parts = []
    for number, span in ((1, f"bytes=0-{5 * MIB - 1}"), (2, f"bytes={5 * MIB}-{6 * MIB - 1}")):
        response = s3.upload_part_copy(
            Bucket=BUCKET,
            Key="copy",
            UploadId=upload,
            PartNumber=number,
            CopySource={"Bucket": BUCKET, "Key": "source"},
            CopySourceRange=span,
        )
        assert shape_errors("s3", "UploadPartCopy", response) == []
        result = response["CopyPartResult"]
        parts.append(
            {"PartNumber": number, "ETag": result["ETag"], "ChecksumCRC64NVME": result["ChecksumCRC64NVME"]}
        )
    return upload, parts


def test_part_checksums_are_returned_and_listed(s3: Any) -> None:
    upload, parts = _two_part_copy(s3)
    assert [p["ChecksumCRC64NVME"] for p in parts] == [_crc(b"a" * 5 * MIB), _crc(b"b" * MIB)]
    listed = s3.list_parts(Bucket=BUCKET, Key="copy", UploadId=upload)
    assert shape_errors("s3", "ListParts", listed) == []
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC64NVME", "FULL_OBJECT")
    assert [p["ChecksumCRC64NVME"] for p in listed["Parts"]] == [p["ChecksumCRC64NVME"] for p in parts]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="copy", UploadId=upload, MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket=BUCKET, Key="copy", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == _crc(b"a" * (5 * MIB) + b"b" * MIB)


def test_a_part_without_its_checksum_is_refused(s3: Any) -> None:
    upload, parts = _two_part_copy(s3)
    del parts[1]["ChecksumCRC64NVME"]
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="copy", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidRequest", 400)
    assert error["Error"]["Message"] == (
        "The upload was created using a crc64nvme checksum. The complete request must include the checksum "
        "for each part. It was missing for part 2 in the request."
    )
    # Nothing was completed: the upload is still there and completes with the checksums.
    parts[1]["ChecksumCRC64NVME"] = _crc(b"b" * MIB)
    s3.complete_multipart_upload(Bucket=BUCKET, Key="copy", UploadId=upload, MultipartUpload={"Parts": parts})


def test_a_part_with_another_checksum_is_refused(s3: Any) -> None:
    upload, parts = _two_part_copy(s3)
    parts[0]["ChecksumCRC64NVME"] = parts[1]["ChecksumCRC64NVME"]
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="copy", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert caught.value.response["Error"]["Code"] == "InvalidPart"
    assert "could not be found" in caught.value.response["Error"]["Message"]


def test_an_upload_without_a_checksum_algorithm_needs_none(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="plain")["UploadId"]
    response = s3.upload_part_copy(
        Bucket=BUCKET,
        Key="plain",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": BUCKET, "Key": "source"},
    )
    assert "ChecksumCRC64NVME" not in response["CopyPartResult"]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="plain",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": response["CopyPartResult"]["ETag"]}]},
    )

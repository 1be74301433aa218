"""Multipart uploads with a checksum algorithm: part checksums kept, reported and checked as S3 does.

An upload created with ``ChecksumAlgorithm`` (coldvault's archive copies use ``CRC64NVME``,
``FULL_OBJECT``) has a checksum of that algorithm for every part. S3 returns it from ``UploadPart``
(``x-amz-checksum-<algorithm>``), ``UploadPartCopy`` (``CopyPartResult.Checksum<ALGORITHM>``) and
``ListParts`` (each part's ``Checksum<ALGORITHM>``, with the upload's ``ChecksumAlgorithm`` and
``ChecksumType``), and ``CompleteMultipartUpload`` needs it back for each part:

- a part listed without its checksum: ``InvalidRequest`` "The upload was created using a <algorithm>
  checksum. The complete request must include the checksum for each part. It was missing for part
  <n> in the request." (S3's message, as clients that omitted part checksums report it);
- a part listed with a checksum that is not the part's: ``InvalidPart``, S3's answer for a part that
  does not match what was uploaded.

moto computes none of this (it returns no part checksums and completes whatever it is given).
:func:`install` wraps moto's backend ``upload_part``/``upload_part_copy`` (to compute each part's
checksum), its response serialisation for ``UploadPartCopy``/``ListParts``/``UploadPart`` and its
``CompleteMultipartUpload`` body parser (to check the parts before moto assembles them).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

_PART_CHECKSUM = "_coldvault_part_checksum"  # on moto's part FakeKey: (algorithm, base64 value)
_ALGORITHM_HEADER = "x-amz-checksum-algorithm"


def algorithm_of(multipart: Any) -> str:
    """The upload's checksum algorithm (``CRC64NVME``…), or "" when it was created without one."""
    return str(multipart.metadata.get(_ALGORITHM_HEADER) or "").upper()


def part_checksum(part: Any) -> tuple[str, str] | None:
    found = getattr(part, _PART_CHECKSUM, None)
    return found if isinstance(found, tuple) else None


def _record(backend: Any, bucket_name: str, upload_id: str, part: Any) -> None:
    from moto.s3.utils import compute_checksum

    multipart = backend.get_bucket(bucket_name).multiparts.get(upload_id)
    algorithm = algorithm_of(multipart) if multipart is not None else ""
    if algorithm:
        value = compute_checksum(part.value, algorithm).decode()
        setattr(part, _PART_CHECKSUM, (algorithm, value))


def missing_message(algorithm: str, number: int) -> str:
    return (
        f"The upload was created using a {algorithm.lower()} checksum. The complete request must include "
        f"the checksum for each part. It was missing for part {number} in the request."
    )


def check_completion(multipart: Any, body: bytes) -> None:
    """Raise S3's error when a part of ``body`` (the CompleteMultipartUpload XML) lacks its checksum
    or gives another one; nothing when the upload has no checksum algorithm."""
    from moto.s3.exceptions import InvalidPart, S3ClientError

    algorithm = algorithm_of(multipart)
    if not algorithm:
        return
    member = f"Checksum{algorithm}"
    root = ElementTree.fromstring(body)  # noqa: S314 - a request to the local sandbox, as moto parses it
    for element in root.iter():
        if not element.tag.endswith("Part"):
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in element}
        if "PartNumber" not in fields:
            continue
        number = int(fields["PartNumber"])
        given = fields.get(member, "")
        if not given:
            raise S3ClientError("InvalidRequest", missing_message(algorithm, number))
        stored = part_checksum(multipart.parts.get(number))
        if stored is not None and stored[1] != given:
            raise InvalidPart()


def install() -> None:
    """Wrap moto's S3 as the module docstring says (idempotent)."""
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    if getattr(S3Backend.upload_part_copy, "_coldvault", False):
        return
    upload_part = S3Backend.upload_part
    upload_part_copy = S3Backend.upload_part_copy

    def backend_upload_part(self: Any, bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any) -> Any:
        part = upload_part(self, bucket_name, multipart_id, *args, **kwargs)
        _record(self, bucket_name, multipart_id, part)
        return part

    def backend_upload_part_copy(
        self: Any, dest_bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any
    ) -> Any:
        part = upload_part_copy(self, dest_bucket_name, multipart_id, *args, **kwargs)
        _record(self, dest_bucket_name, multipart_id, part)
        return part

    backend_upload_part_copy._coldvault = True  # type: ignore[attr-defined]
    S3Backend.upload_part = backend_upload_part
    S3Backend.upload_part_copy = backend_upload_part_copy

    serialized = S3Response.serialized

    def with_part_checksums(self: Any, action_result: Any) -> Any:
        action = self.data.get("Action") if isinstance(getattr(self, "data", None), dict) else None
        result = getattr(action_result, "result", None)
        if action in ("UploadPartCopy", "ListParts") and isinstance(result, dict):
            _add_checksums(self, action, result)
        return serialized(self, action_result)

    S3Response.serialized = with_part_checksums

    response_upload_part = S3Response.upload_part

    def upload_part_answer(self: Any) -> Any:
        status, headers, body = response_upload_part(self)
        multipart = _multipart(self)
        if multipart is not None:
            part = multipart.parts.get(self._get_int_param("partNumber"))
            found = part_checksum(part)
            if found is not None:
                headers[f"x-amz-checksum-{found[0].lower()}"] = found[1]
        return status, headers, body

    S3Response.upload_part = upload_part_answer

    complete_body = S3Response._complete_multipart_body

    def checked_complete_body(self: Any, body: bytes) -> Any:
        multipart = _multipart(self)
        if multipart is not None:
            check_completion(multipart, body)
        return complete_body(self, body)

    S3Response._complete_multipart_body = checked_complete_body


def _multipart(response: Any) -> Any:
    upload_id = response._get_param("uploadId")
    try:
        return response.backend.get_bucket(response.bucket_name).multiparts.get(upload_id)
    except Exception:  # noqa: BLE001 - no bucket: moto answers that itself
        return None


def _add_checksums(response: Any, action: str, result: dict[str, Any]) -> None:
    multipart = _multipart(response)
    if multipart is None or not algorithm_of(multipart):
        return
    algorithm = algorithm_of(multipart)
    if action == "UploadPartCopy":
        part = multipart.parts.get(response._get_int_param("partNumber"))
        found = part_checksum(part)
        if found is not None:
            result["CopyPartResult"][f"Checksum{found[0]}"] = found[1]
        return
    result["ChecksumAlgorithm"] = algorithm
    kind = str(multipart.metadata.get("x-amz-checksum-type") or "").upper()
    result["ChecksumType"] = kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    for listed in result.get("Parts", []):
        found = part_checksum(multipart.parts.get(int(listed["PartNumber"])))
        if found is not None:
            listed[f"Checksum{found[0]}"] = found[1]

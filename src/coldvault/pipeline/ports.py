"""What the archive steps need of AWS, as Protocols: the methods of the adapters that store, copy,
verify and delete (and publish) call, with the adapters' signatures.

The adapters (:mod:`coldvault.aws`) satisfy them (mypy checks it below), and so do the in-memory fakes
of ``tests/support/fakes.py`` (``make typecheck`` checks that module against these Protocols), so a unit
test of a step runs against a fake that has exactly the adapter's methods and signatures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from coldvault.aws.backup import Backup
from coldvault.aws.ec2 import Ec2, ImageInfo, StoreTask
from coldvault.aws.s3 import S3, ObjectInfo, Part, Upload
from coldvault.aws.sqs import Sqs
from coldvault.models import RecoveryPoint


class S3Api(Protocol):
    def head(self, bucket: str, key: str) -> ObjectInfo | None: ...

    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None: ...

    def get_json_with_etag(self, bucket: str, key: str) -> tuple[dict[str, Any], str] | None: ...

    def iter_body(self, bucket: str, key: str, chunk_size: int = ...) -> Iterator[bytes]: ...

    def put_json(
        self,
        bucket: str,
        key: str,
        value: Any,
        *,
        if_none_match: bool = ...,
        if_match: str | None = ...,
        content_type: str = ...,
    ) -> str: ...

    def delete(self, bucket: str, key: str, *, if_match: str | None = ...) -> None: ...

    def iter_keys(self, bucket: str, prefix: str) -> Iterator[str]: ...

    def copy(
        self,
        bucket: str,
        source_key: str,
        key: str,
        *,
        storage_class: str,
        metadata: dict[str, str],
        tags: dict[str, str],
    ) -> None: ...

    def create_upload(
        self, bucket: str, key: str, *, storage_class: str, metadata: dict[str, str], tags: dict[str, str]
    ) -> str: ...

    def copy_part(
        self, bucket: str, source_key: str, key: str, upload_id: str, number: int, first: int, last: int
    ) -> Part: ...

    def list_parts(self, bucket: str, key: str, upload_id: str) -> dict[int, Part]: ...

    def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: dict[int, Part],
        *,
        checksum: str = ...,
        size: int = ...,
    ) -> None: ...

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None: ...

    def list_uploads(self, bucket: str, prefix: str) -> list[Upload]: ...


class Ec2Api(Protocol):
    def create_store_image_task(self, ami_id: str, bucket: str, tags: dict[str, str]) -> str: ...

    def describe_store_tasks(self, ami_ids: Sequence[str]) -> dict[str, StoreTask]: ...

    def describe_images(self, ami_ids: Sequence[str]) -> dict[str, ImageInfo]: ...


class BackupApi(Protocol):
    def describe_recovery_point(self, vault: str, arn: str) -> RecoveryPoint | None: ...

    def delete_recovery_point(self, vault: str, arn: str) -> None: ...

    def list_tags(self, arn: str) -> dict[str, str]: ...


class SqsApi(Protocol):
    def send(self, queue_url: str, message: dict[str, Any], *, group_id: str | None = ...) -> str: ...


if TYPE_CHECKING:  # the adapters satisfy the Protocols (checked by mypy, never run)

    def _s3(adapter: S3) -> S3Api:
        return adapter

    def _ec2(adapter: Ec2) -> Ec2Api:
        return adapter

    def _backup(adapter: Backup) -> BackupApi:
        return adapter

    def _sqs(adapter: Sqs) -> SqsApi:
        return adapter

"""In-memory fakes of the AWS adapters for unit tests of the archive steps, on a ManualClock.

Each fake implements one Protocol of :mod:`coldvault.pipeline.ports` (``make typecheck`` runs mypy on
this module, and the assignments at the end fail it when a fake drifts from the adapter's signature).
They keep the AWS behaviour the steps rely on: conditional writes and deletes, a multipart Complete that
refuses an existing key (``If-None-Match``), a wrong full-object checksum (``BadDigest``) or size, a
delete that answers 200 while the point stays (``EXPIRED``), store tasks that answer the newest per AMI.

Every call is recorded in ``calls`` and takes ``latency`` seconds of the clock; ``fail_next`` makes the
next calls of an operation raise the given errors (throttling, access denied…).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from coldvault import keys
from coldvault.aws.backup import Backup
from coldvault.aws.ec2 import Ec2, ImageInfo, StoreTask
from coldvault.aws.s3 import S3, ObjectInfo, Part, PreconditionFailed, Upload
from coldvault.aws.sqs import Sqs
from coldvault.clock import ManualClock
from coldvault.config import Settings
from coldvault.errors import AwsError, NotFound
from coldvault.models import PointWork, RecoveryPoint, Stage
from coldvault.pipeline.ports import BackupApi, Ec2Api, S3Api, SqsApi
from coldvault.pipeline.services import Services

START = datetime(2026, 1, 1, tzinfo=UTC)


class Recorder:
    """Calls, their latency on the clock, and errors armed per operation."""

    def __init__(self, clock: ManualClock, latency: float = 0.0) -> None:
        self.clock = clock
        self.latency = latency
        self.calls: list[str] = []
        self.failures: dict[str, list[Exception]] = {}
        self._lock = threading.Lock()

    def fail_next(self, operation: str, *errors: Exception) -> None:
        self.failures.setdefault(operation, []).extend(errors)

    def call(self, operation: str) -> None:
        with self._lock:
            self.calls.append(operation)
            self.clock.advance(self.latency)
            pending = self.failures.get(operation)
            error = pending.pop(0) if pending else None
        if error is not None:
            raise error

    def count(self, operation: str) -> int:
        return self.calls.count(operation)


@dataclass
class FakeObject:
    size: int
    etag: str
    storage_class: str = "STANDARD"
    metadata: dict[str, str] = field(default_factory=dict)
    checksum: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    body: Any = None  # a JSON document, for get_json

    def info(self, key: str) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=self.size,
            etag=self.etag,
            storage_class=self.storage_class,
            metadata=dict(self.metadata),
            checksum=self.checksum,
            checksum_type="FULL_OBJECT" if self.checksum else "",
            tag_count=len(self.tags),
        )


@dataclass
class FakeUpload:
    key: str
    storage_class: str
    metadata: dict[str, str]
    tags: dict[str, str]
    parts: dict[int, tuple[Part, str, int, int]] = field(default_factory=dict)  # part, source, first, last


def crc(source_checksum: str, first: int, last: int) -> str:
    """A stand-in for the CRC64NVME of a byte range of an object with ``source_checksum``."""
    return f"{source_checksum}[{first}:{last}]"


class FakeS3:
    """:class:`coldvault.aws.s3.S3` in memory, for one account (keys are per bucket)."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.objects: dict[tuple[str, str], FakeObject] = {}
        self.uploads: dict[str, FakeUpload] = {}
        self._ids = itertools.count(1)

    # -- helpers for tests ------------------------------------------------------------------
    def put(self, bucket: str, key: str, size: int, **fields: Any) -> FakeObject:
        obj = FakeObject(size=size, etag=f'"{next(self._ids)}"', **fields)
        self.objects[(bucket, key)] = obj
        return obj

    def start_upload(self, bucket: str, key: str) -> str:
        return self.create_upload(bucket, key, storage_class="GLACIER_IR", metadata={}, tags={})

    # -- S3Api ---------------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        self.rec.call("HeadObject")
        obj = self.objects.get((bucket, key))
        return None if obj is None else obj.info(key)

    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        self.rec.call("GetObject")
        obj = self.objects.get((bucket, key))
        return None if obj is None or not isinstance(obj.body, dict) else dict(obj.body)

    def get_json_with_etag(self, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
        self.rec.call("GetObject")
        obj = self.objects.get((bucket, key))
        return None if obj is None or not isinstance(obj.body, dict) else (dict(obj.body), obj.etag)

    def iter_body(self, bucket: str, key: str, chunk_size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        self.rec.call("GetObject")
        obj = self.objects.get((bucket, key))
        if obj is None:
            raise NotFound(f"GetObject: NoSuchKey: {key}", code="NoSuchKey", operation="GetObject")
        yield b"\0" * obj.size

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
        self.rec.call("PutObject")
        current = self.objects.get((bucket, key))
        if (if_none_match and current is not None) or (
            if_match and (current is None or current.etag != if_match)
        ):
            raise PreconditionFailed(key)
        return self.put(bucket, key, 1, body=value).etag

    def delete(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        self.rec.call("DeleteObject")
        current = self.objects.get((bucket, key))
        if if_match and current is not None and current.etag != if_match:
            raise PreconditionFailed(key)
        self.objects.pop((bucket, key), None)

    def iter_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        self.rec.call("ListObjectsV2")
        yield from sorted(k for b, k in list(self.objects) if b == bucket and k.startswith(prefix))

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
        self.rec.call("CopyObject")
        source = self.objects[(bucket, source_key)]
        self.put(
            bucket,
            key,
            source.size,
            storage_class=storage_class,
            metadata=dict(metadata),
            checksum=source.checksum,
            tags=dict(tags),
        )

    def create_upload(
        self, bucket: str, key: str, *, storage_class: str, metadata: dict[str, str], tags: dict[str, str]
    ) -> str:
        self.rec.call("CreateMultipartUpload")
        upload_id = f"upload-{next(self._ids)}"
        self.uploads[upload_id] = FakeUpload(key, storage_class, dict(metadata), dict(tags))
        return upload_id

    def copy_part(
        self, bucket: str, source_key: str, key: str, upload_id: str, number: int, first: int, last: int
    ) -> Part:
        self.rec.call("UploadPartCopy")
        upload = self._upload(upload_id)
        source = self.objects[(bucket, source_key)]
        part = Part(f'"p{number}-{next(self._ids)}"', last - first + 1, crc(source.checksum, first, last))
        upload.parts[number] = (part, source_key, first, last)
        return part

    def list_parts(self, bucket: str, key: str, upload_id: str) -> dict[int, Part]:
        self.rec.call("ListParts")
        upload = self.uploads.get(upload_id)
        return {} if upload is None else {n: p for n, (p, *_) in upload.parts.items()}

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
        self.rec.call("CompleteMultipartUpload")
        upload = self._upload(upload_id)
        if (bucket, key) in self.objects:
            raise PreconditionFailed(key)
        stored = upload.parts
        for n, part in parts.items():
            if n not in stored or stored[n][0].etag != part.etag:
                raise AwsError(f"CompleteMultipartUpload: InvalidPart: {n}", code="InvalidPart")
            if part.checksum and part.checksum != stored[n][0].checksum:
                raise AwsError(f"CompleteMultipartUpload: BadDigest: part {n}", code="BadDigest")
        total = sum(stored[n][0].size for n in parts)
        if size and size != total:
            raise AwsError("CompleteMultipartUpload: InvalidRequest: MpuObjectSize", code="InvalidRequest")
        # The full-object CRC64NVME of the parts' bytes: the source's when they are all of it, in order
        # (each part's checksum names the source checksum it was copied with).
        bases = {stored[n][0].checksum.rsplit("[", 1)[0] for n in parts}
        ranges = [(stored[n][2], stored[n][3]) for n in sorted(parts)]
        contiguous = all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges)) and ranges[0][0] == 0
        source = self.objects.get((bucket, stored[min(parts)][1]))
        whole = ""
        if len(bases) == 1 and contiguous and source is not None and ranges[-1][1] + 1 == source.size:
            whole = bases.pop()
        computed = whole or f"assembled-{upload_id}"
        if checksum and checksum != computed:
            raise AwsError(f"CompleteMultipartUpload: BadDigest: {checksum} != {computed}", code="BadDigest")
        del self.uploads[upload_id]
        self.put(
            bucket,
            key,
            total,
            storage_class=upload.storage_class,
            metadata=upload.metadata,
            checksum=computed,
            tags=upload.tags,
        )

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.rec.call("AbortMultipartUpload")
        self.uploads.pop(upload_id, None)

    def list_uploads(self, bucket: str, prefix: str) -> list[Upload]:
        self.rec.call("ListMultipartUploads")
        return [Upload(u.key, i) for i, u in self.uploads.items() if u.key.startswith(prefix)]

    def _upload(self, upload_id: str) -> FakeUpload:
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise NotFound(f"NoSuchUpload: {upload_id}", code="NoSuchUpload")
        return upload


class FakeEc2:
    """:class:`coldvault.aws.ec2.Ec2`'s store tasks and images; a task's object appears when told."""

    def __init__(self, rec: Recorder, s3: FakeS3) -> None:
        self.rec = rec
        self.s3 = s3
        self.tasks: dict[str, StoreTask] = {}
        self.images: dict[str, ImageInfo] = {}
        self.created: list[str] = []
        self.describe_batches: list[list[str]] = []
        # A task created by create_store_image_task progresses on the clock and completes after this
        # many seconds (its object of `staging_size` bytes appears); None: it stays as set by the test.
        self.store_seconds: float | None = None
        self.staging_size = 64 * 1024 * 1024

    def set_task(
        self, ami_id: str, state: str, progress: int = 0, *, bucket: str = "", reason: str = ""
    ) -> None:
        started = self.tasks[ami_id].started if ami_id in self.tasks else self.rec.clock.now()
        self.tasks[ami_id] = StoreTask(ami_id, state, progress, bucket, f"{ami_id}.bin", started, reason)

    def finish(self, ami_id: str, bucket: str, size: int, checksum: str = "crc-staging") -> None:
        """The task completes: its object is in the bucket."""
        self.set_task(ami_id, "Completed", 100, bucket=bucket)
        self.s3.put(bucket, f"{ami_id}.bin", size, checksum=checksum)

    def create_store_image_task(self, ami_id: str, bucket: str, tags: dict[str, str]) -> str:
        self.rec.call("CreateStoreImageTask")
        self.created.append(ami_id)
        self.tasks[ami_id] = StoreTask(ami_id, "InProgress", 0, bucket, f"{ami_id}.bin", self.rec.clock.now())
        return f"{ami_id}.bin"

    def _progress(self, ami_id: str) -> None:
        task = self.tasks.get(ami_id)
        if self.store_seconds is None or task is None or task.state != "InProgress" or task.started is None:
            return
        elapsed = (self.rec.clock.now() - task.started).total_seconds()
        if elapsed >= self.store_seconds:
            self.finish(ami_id, task.bucket, self.staging_size)
        else:
            self.set_task(ami_id, "InProgress", int(100 * elapsed / self.store_seconds), bucket=task.bucket)

    def describe_store_tasks(self, ami_ids: Sequence[str]) -> dict[str, StoreTask]:
        for ami in ami_ids:
            self._progress(ami)
        found: dict[str, StoreTask] = {}
        for i in range(0, len(ami_ids), 20):
            self.rec.call("DescribeStoreImageTasks")
            batch = list(ami_ids[i : i + 20])
            self.describe_batches.append(batch)
            found.update({a: self.tasks[a] for a in batch if a in self.tasks})
        return found

    def describe_images(self, ami_ids: Sequence[str]) -> dict[str, ImageInfo]:
        self.rec.call("DescribeImages")
        return {a: self.images[a] for a in ami_ids if a in self.images}


class FakeBackup:
    """:class:`coldvault.aws.backup.Backup`'s recovery points; ``on_delete`` is what DeleteRecoveryPoint
    does: ``gone``, ``deleting`` (status DELETING), ``expired`` (200, but the point stays EXPIRED)."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.points: dict[str, RecoveryPoint] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.on_delete = "gone"

    def describe_recovery_point(self, vault: str, arn: str) -> RecoveryPoint | None:
        self.rec.call("DescribeRecoveryPoint")
        return self.points.get(arn)

    def delete_recovery_point(self, vault: str, arn: str) -> None:
        self.rec.call("DeleteRecoveryPoint")
        point = self.points.get(arn)
        if point is None:
            raise NotFound(
                f"DeleteRecoveryPoint: ResourceNotFoundException: {arn}", code="ResourceNotFoundException"
            )
        if self.on_delete == "gone":
            del self.points[arn]
        else:
            self.points[arn] = replace(point, status=self.on_delete.upper())

    def list_tags(self, arn: str) -> dict[str, str]:
        self.rec.call("ListTags")
        return dict(self.tags.get(arn, {}))


class FakeSqs:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.sent: list[dict[str, Any]] = []

    def send(self, queue_url: str, message: dict[str, Any], *, group_id: str | None = None) -> str:
        self.rec.call("SendMessage")
        self.sent.append(message)
        return f"m-{len(self.sent)}"


@dataclass
class Fakes:
    """One fake account: the clock, the recorder and every fake adapter, and the services over them."""

    clock: ManualClock
    rec: Recorder
    s3: FakeS3
    ec2: FakeEc2
    backup: FakeBackup
    sqs: FakeSqs

    @property
    def services(self) -> Services:
        # The steps' Services bundle names the adapter classes; the fakes satisfy the Protocols those
        # classes satisfy (checked below and in coldvault.pipeline.ports), so the cast only renames.
        return Services(
            backup=cast(Backup, self.backup),
            ec2=cast(Ec2, self.ec2),
            s3=cast(S3, self.s3),
            sqs=cast(Sqs, self.sqs),
            clock=self.clock,
        )

    def later(self, seconds: float) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)


def fakes(latency: float = 0.0, start: datetime = START) -> Fakes:
    clock = ManualClock(current=start)
    rec = Recorder(clock, latency)
    s3 = FakeS3(rec)
    return Fakes(clock, rec, s3, FakeEc2(rec, s3), FakeBackup(rec), FakeSqs(rec))


# Checked by mypy: each fake has exactly what its Protocol (and so the adapter) has, with the same signatures.
_S3: type[S3Api] = FakeS3
_EC2: type[Ec2Api] = FakeEc2
_BACKUP: type[BackupApi] = FakeBackup
_SQS: type[SqsApi] = FakeSqs


BUCKET = "archive-bucket"
VAULT = "vault"
MIB = 1024 * 1024


def settings(**changes: Any) -> Settings:
    """Archive settings for the fakes: bucket ``BUCKET``, vault ``VAULT``, small parts."""
    base = Settings(
        vault=VAULT,
        bucket=BUCKET,
        cutoff=START,
        run_id="run-1",
        copy_threshold_bytes=5 * MIB,
        part_size_bytes=5 * MIB,
        copy_concurrency=4,
    )
    return base.with_(**changes)


def point(n: int, size: int = 8 * 1024**3) -> RecoveryPoint:
    ami = f"ami-{n:017x}"
    return RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/{ami}",
        vault_name=VAULT,
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=START - timedelta(days=100),
        backup_size_bytes=size,
    )


def work(n: int, stage: Stage = Stage.SELECTED, **changes: Any) -> PointWork:
    p = point(n)
    base = PointWork(
        point=p, archive_key=keys.archive_key(p), manifest_key=keys.manifest_key(p.ami_id), stage=stage
    )
    return replace(base, **changes)

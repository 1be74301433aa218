"""EC2 store and restore image tasks: the state and rules behind ``CreateStoreImageTask``,
``DescribeStoreImageTasks`` and ``CreateRestoreImageTask``.

Tasks live inside moto's EC2 backend object (one per account and Region), so they reset with it.
Their progress is not driven by a thread: it is computed from the sandbox's virtual clock
(:data:`coldvault.sandbox.state.STATE`) whenever a task is looked at, and a store task that is
seen completed writes its ``<ami-id>.bin`` object at that moment, exactly once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from coldvault.sandbox import s3_objects
from coldvault.sandbox.state import GIB, STATE

TASKS_ATTR = "_coldvault_image_tasks"
IN_PROGRESS, COMPLETED, FAILED = "InProgress", "Completed", "Failed"
DEFAULT_FAILURE = "The AMI could not be stored: reading the data of one of its snapshots failed."
MAX_IMAGE_IDS = 20
# EC2's answers (code InvalidRequest) as code that runs against the real API sees them.
ALREADY_IN_PROGRESS = (
    "A CreateStoreImageTask is already in progress for the AMI. "
    "You can't run multiple concurrent store image requests for the same AMI."
)
ALREADY_IN_BUCKET = (
    "The AMI already exists in the bucket. You can't create multiple copies of an AMI in the same S3 bucket."
)

LOCK = threading.RLock()
_SETTLING = threading.local()


class ImageTaskError(Exception):
    """An EC2 error answer: ``code`` as in ``<Errors><Error><Code>``, and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class StoreImageTask:
    """One ``CreateStoreImageTask``: what it stores, where, and when it started. Its state is
    computed from the clock; ``failure_reason`` (from an injected ``StoreTask`` fault) makes it
    fail halfway, and a bucket that vanished before the end makes it fail at the end."""

    ami_id: str
    bucket: str
    object_key: str
    start_time: datetime
    size_bytes: int
    object_tags: dict[str, str]
    header: dict[str, Any]
    metadata: list[tuple[str, str]]
    failure_reason: str = ""
    failure_point: float = 0.5  # the fraction of the work done when a failing task fails
    object_written: bool = False
    queued_seconds: float = 0.0  # InProgress at 0 % this long before the work starts

    def duration(self) -> timedelta:
        rate = STATE.settings.store_bytes_per_second
        return timedelta(seconds=self.size_bytes / rate if rate > 0 else 0.0)

    def observe(self, now: datetime) -> tuple[str, int]:
        """(state, progress percentage) at ``now``: queued (``InProgress``, 0 %), then working."""
        elapsed = now - self.start_time - timedelta(seconds=self.queued_seconds)
        if elapsed < timedelta(0):
            return IN_PROGRESS, 0
        total = self.duration()
        if self.failure_reason and elapsed >= total * self.failure_point:
            return FAILED, min(99, int(100 * self.failure_point)) if total else 0
        if elapsed >= total:
            return COMPLETED, 100
        return IN_PROGRESS, min(99, int(100 * elapsed / total))

    def finished_at(self) -> datetime:
        return self.start_time + timedelta(seconds=self.queued_seconds) + self.duration()


@dataclass
class RestoreImageTask:
    """One ``CreateRestoreImageTask``: the new AMI stays ``pending`` until ``available_at``; its
    bytes count against the restore quota until then."""

    image_id: str
    bucket: str
    object_key: str
    start_time: datetime
    size_bytes: int
    available_at: datetime


@dataclass
class ImageTasks:
    """The image tasks of one EC2 backend (account and Region)."""

    stores: list[StoreImageTask] = field(default_factory=list)
    restores: list[RestoreImageTask] = field(default_factory=list)


def tasks_of(backend: Any) -> ImageTasks:
    found = backend.__dict__.get(TASKS_ATTR)
    if not isinstance(found, ImageTasks):
        found = ImageTasks()
        setattr(backend, TASKS_ATTR, found)
    return found


def image_size_bytes(backend: Any, image: Any) -> int:
    """An AMI's size: the sum of its EBS block devices (their snapshots' volume sizes), GiB."""
    total = 0
    for mapping in block_devices(backend, image):
        total += int(mapping["size_gib"]) * GIB
    return total


def block_devices(backend: Any, image: Any) -> list[dict[str, Any]]:
    """The AMI's EBS block devices as plain records (device, size in GiB, volume type...)."""
    devices: list[dict[str, Any]] = []
    for mapping in image.block_device_mappings or []:
        ebs = mapping.get("Ebs")
        if not ebs:
            continue
        snapshot = backend.snapshots.get(ebs.get("SnapshotId") or "")
        size = snapshot.volume_size if snapshot is not None else ebs.get("VolumeSize", 0)
        devices.append(
            {
                "device": mapping.get("DeviceName"),
                "size_gib": int(size or 0),
                "volume_type": ebs.get("VolumeType") or "gp3",
                "delete_on_termination": bool(ebs.get("DeleteOnTermination", True)),
                "encrypted": bool(getattr(snapshot, "encrypted", False)),
            }
        )
    return devices


def settle(backend: Any, account_id: str) -> None:
    """Write the object of every store task of ``backend`` now seen completed (exactly once)."""
    now = STATE.clock.now()
    outer = getattr(_SETTLING, "active", False)
    _SETTLING.active = True
    try:
        with LOCK:
            _settle_tasks(tasks_of(backend).stores, account_id, now)
    finally:
        _SETTLING.active = outer


def _settle_tasks(tasks: list[StoreImageTask], account_id: str, now: datetime) -> None:
    for task in tasks:
        if task.object_written or task.failure_reason:
            continue
        state, _ = task.observe(now)
        if state != COMPLETED:
            continue
        task.object_written = True
        if s3_objects.find_bucket(account_id, task.bucket) is None:
            task.failure_reason = f"The S3 bucket {task.bucket} no longer exists."
            task.failure_point = 1.0
            continue
        _write_object(account_id, task)


def settle_all() -> None:
    """Settle the store tasks of every EC2 backend that has some (e.g. before S3 is read, or
    after the clock moved). Re-entrant calls (the object write itself reads S3) do nothing."""
    from moto.ec2.models import ec2_backends

    if getattr(_SETTLING, "active", False):
        return
    _SETTLING.active = True
    try:
        for account_id, regions in list(ec2_backends.items()):
            for backend in list(regions.values()):
                if TASKS_ATTR in backend.__dict__:
                    settle(backend, account_id)
    finally:
        _SETTLING.active = False


def _write_object(account_id: str, task: StoreImageTask) -> None:
    settings = STATE.settings
    scaled = round(task.size_bytes * settings.size_scale)
    size = max(1, min(settings.max_object_bytes, scaled))
    body = s3_objects.stored_body(task.ami_id, task.header, size)
    store_date = task.finished_at().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    metadata = s3_objects.fit_metadata([*task.metadata, ("ami-store-date", store_date)], "ami-description")
    s3_objects.write_multipart(account_id, task.bucket, task.object_key, body, metadata, task.object_tags)


def store_in_progress_bytes(backend: Any, now: datetime) -> int:
    return sum(t.size_bytes for t in tasks_of(backend).stores if t.observe(now)[0] == IN_PROGRESS)


def _fault(operation: str, resources: tuple[str, ...]) -> None:
    """Raise the error of an armed throttle/access_denied/quota/error fault for ``operation``."""
    fault = STATE.faults.take(operation, *resources)
    if fault is None:
        return
    if fault.kind == "throttle":
        raise ImageTaskError("RequestLimitExceeded", "Request limit exceeded.", 503)
    if fault.kind == "access_denied":
        raise ImageTaskError(
            "UnauthorizedOperation", f"You are not authorized to perform this operation ({operation}).", 403
        )
    if fault.kind == "quota":
        raise ImageTaskError("ResourceLimitExceeded", quota_message(operation))
    if fault.kind == "error":
        raise ImageTaskError(fault.code or "InternalError", fault.reason or "Injected error.", fault.status)


def quota_message(operation: str) -> str:
    work = "store" if operation == "CreateStoreImageTask" else "restore"
    return (
        f"The maximum amount of AMI {work} work in progress for this account and Region has been "
        "reached; try again when some of the tasks in progress have finished."
    )


def check_faults_and_dry_run(operation: str, resources: tuple[str, ...], dry_run: bool) -> None:
    """Injected faults first (a fault is about the call, whatever its parameters), then DryRun,
    which EC2 answers before looking at the parameters."""
    _fault(operation, resources)
    if dry_run:
        raise ImageTaskError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def find_image(backend: Any, image_id: str) -> Any:
    if not image_id.startswith("ami-"):
        raise ImageTaskError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
    image = backend.amis.get(image_id)
    if image is None:
        raise ImageTaskError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
    return image


def create_store_task(
    backend: Any,
    account_id: str,
    region: str,
    image_id: str,
    bucket: str,
    tags: dict[str, str],
    dry_run: bool = False,
) -> StoreImageTask:
    """Start storing ``image_id`` into ``bucket`` (see docs/sandbox-ec2.md for the rules)."""
    check_faults_and_dry_run("CreateStoreImageTask", (image_id, bucket), dry_run)
    with LOCK:
        settle(backend, account_id)
        image = find_image(backend, image_id)
        _check_storable(image, image_id, account_id)
        found = s3_objects.find_bucket(account_id, bucket)
        if found is None:
            raise ImageTaskError("InvalidParameterValue", f"The S3 bucket {bucket!r} does not exist.")
        if found.region_name != region:
            raise ImageTaskError(
                "InvalidParameterValue",
                f"The S3 bucket {bucket!r} is in {found.region_name}; it must be in {region}.",
            )
        try:
            s3_objects.check_object_tags(tags)
        except s3_objects.StoredObjectError as e:
            raise ImageTaskError(e.code, e.message) from e
        now = STATE.clock.now()
        key = f"{image_id}.bin"
        for task in tasks_of(backend).stores:
            if task.ami_id == image_id and task.observe(now)[0] == IN_PROGRESS:
                raise ImageTaskError("InvalidRequest", ALREADY_IN_PROGRESS)
        if key in found.keys:
            raise ImageTaskError("InvalidRequest", ALREADY_IN_BUCKET)
        in_progress = store_in_progress_bytes(backend, now)
        if in_progress >= STATE.settings.store_quota_bytes:
            raise ImageTaskError("ResourceLimitExceeded", quota_message("CreateStoreImageTask"))
        failure = STATE.faults.take("StoreTask", image_id)
        reason = "" if failure is None or failure.kind != "fail" else (failure.reason or DEFAULT_FAILURE)
        task = StoreImageTask(
            ami_id=image_id,
            bucket=bucket,
            object_key=key,
            start_time=now,
            size_bytes=image_size_bytes(backend, image),
            object_tags=dict(tags),
            header=_header(backend, image),
            metadata=_metadata(image),
            failure_reason=reason,
            queued_seconds=max(0.0, STATE.settings.store_queue_seconds),
        )
        tasks_of(backend).stores.append(task)
        return task


def _check_storable(image: Any, image_id: str, account_id: str) -> None:
    if image.owner_id != account_id:
        raise ImageTaskError(
            "AuthFailure",
            f"Not authorized for image:{image_id}: only AMIs owned by the account can be stored.",
        )
    if image.state != "available":
        raise ImageTaskError(
            "InvalidAMIID.Unavailable", f"The image id '[{image_id}]' is {image.state}, not available."
        )
    if image.root_device_type == "instance-store":
        raise ImageTaskError(
            "InvalidParameterValue",
            f"{image_id} is an instance store-backed AMI; only EBS-backed AMIs can be stored.",
        )
    if image.virtualization_type == "paravirtual":
        raise ImageTaskError(
            "InvalidParameterValue", f"{image_id} is a paravirtual AMI; only HVM AMIs can be stored."
        )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(value or "")


def _header(backend: Any, image: Any) -> dict[str, Any]:
    """What the object body keeps so that a restore can rebuild the AMI."""
    return {
        "image_id": image.id,
        "name": image.name or "",
        "description": image.description or "",
        "architecture": image.architecture or "x86_64",
        "root_device_name": image.root_device_name or "/dev/xvda",
        "boot_mode": getattr(image, "boot_mode", None) or "",
        "owner": image.owner_id,
        "creation_date": _iso(image.creation_date),
        "block_devices": block_devices(backend, image),
    }


def _metadata(image: Any) -> list[tuple[str, str]]:
    return [
        ("ami-name", image.name or ""),
        ("ami-description", image.description or ""),
        ("ami-registration-date", _iso(image.creation_date)),
        ("ami-owner-account", str(image.owner_id)),
    ]


def describe_store_tasks(
    backend: Any,
    account_id: str,
    image_ids: list[str],
    filters: dict[str, list[str]],
) -> list[tuple[StoreImageTask, str, int]]:
    """The store tasks to report, newest first, each with its state and percentage: the latest
    task of each of ``image_ids`` (filters ignored), or every task matching ``filters``; only
    tasks started within the history window."""
    if len(image_ids) > MAX_IMAGE_IDS:
        raise ImageTaskError(
            "InvalidParameterValue",
            f"{len(image_ids)} ImageIds were given; "
            f"at most {MAX_IMAGE_IDS} AMI IDs can be described per request.",
        )
    for image_id in image_ids:
        if not image_id.startswith("ami-"):
            raise ImageTaskError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
    for name in filters:
        if name not in ("task-state", "bucket"):
            raise ImageTaskError("InvalidParameterValue", f"The filter '{name}' is invalid")
    now = STATE.clock.now()
    oldest = now - timedelta(days=STATE.settings.store_task_history_days)
    with LOCK:
        settle(backend, account_id)
        recent = [t for t in tasks_of(backend).stores if t.start_time >= oldest]
        observed = [(t, *t.observe(now)) for t in reversed(recent)]
    if image_ids:
        latest: dict[str, tuple[StoreImageTask, str, int]] = {}
        for item in observed:
            if item[0].ami_id in image_ids:
                latest.setdefault(item[0].ami_id, item)
        return list(latest.values())
    states = filters.get("task-state")
    buckets = filters.get("bucket")
    return [
        item
        for item in observed
        if (states is None or item[1] in states) and (buckets is None or item[0].bucket in buckets)
    ]

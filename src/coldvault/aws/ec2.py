"""EC2: store image tasks and image descriptions (IAM actions named per method)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coldvault import keys
from coldvault.aws.errors import aws_call
from coldvault.errors import NotFound

DESCRIBE_STORE_BATCH = 20  # DescribeStoreImageTasks accepts at most 20 ImageIds
DESCRIBE_IMAGES_BATCH = 200
DESCRIBE_IMAGES_PAGE = 1000  # DescribeImages MaxResults ceiling
DESCRIBE_SNAPSHOTS_PAGE = 1000  # DescribeSnapshots MaxResults ceiling (with filters)
DESCRIBE_STORE_PAGE = 200  # DescribeStoreImageTasks MaxResults ceiling (with filters)
GIB = 1024**3  # EBS volume sizes are in GiB


@dataclass(frozen=True)
class StoreTask:
    ami_id: str
    state: str  # InProgress | Completed | Failed
    progress: int
    bucket: str
    object_key: str
    started: datetime | None
    failure_reason: str = ""


@dataclass(frozen=True)
class ImageInfo:
    ami_id: str
    name: str
    description: str
    state: str
    owner_id: str
    root_device_type: str
    virtualization_type: str
    architecture: str
    block_devices: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def storable_problem(self, account: str | None) -> str:
        """Why EC2 would refuse to store this AMI, or "" if it can be stored."""
        if self.root_device_type and self.root_device_type != "ebs":
            return "instance-store-backed AMI"
        if self.virtualization_type == "paravirtual":
            return "paravirtual AMI"
        if account and self.owner_id and self.owner_id != account:
            return f"AMI owned by {self.owner_id}, not this account"
        return ""

    @property
    def volume_bytes(self) -> int:
        """The AMI's EBS snapshot data: the sum of its block devices' ``VolumeSize`` (GiB)."""
        return sum(int((bd.get("Ebs") or {}).get("VolumeSize") or 0) for bd in self.block_devices) * GIB


def _store_task(item: dict[str, Any]) -> StoreTask:
    return StoreTask(
        ami_id=item["AmiId"],
        state=item.get("StoreTaskState", ""),
        progress=int(item.get("ProgressPercentage") or 0),
        bucket=item.get("Bucket", ""),
        object_key=item.get("S3objectKey", ""),
        started=item.get("TaskStartTime"),
        failure_reason=item.get("StoreTaskFailureReason", ""),
    )


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Ec2:
    """Thin adapter over a boto3 ``ec2`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create_store_image_task(self, ami_id: str, bucket: str, tags: dict[str, str]) -> str:
        """``ec2:CreateStoreImageTask``; the object key EC2 will write."""
        kwargs: dict[str, Any] = {"ImageId": ami_id, "Bucket": bucket}
        if tags:
            kwargs["S3ObjectTags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        with aws_call("CreateStoreImageTask"):
            r = self.client.create_store_image_task(**kwargs)
        return str(r.get("ObjectKey", keys.staging_key(ami_id)))

    def describe_store_tasks(self, ami_ids: Sequence[str]) -> dict[str, StoreTask]:
        """``ec2:DescribeStoreImageTasks``, one call per 20 AMIs; the newest task per AMI."""
        found: dict[str, StoreTask] = {}
        for batch in _chunks(list(ami_ids), DESCRIBE_STORE_BATCH):
            try:
                with aws_call("DescribeStoreImageTasks"):
                    r = self.client.describe_store_image_tasks(ImageIds=list(batch))
            except NotFound:
                # An unknown AMI in the batch: ask one by one so the others are still seen.
                if len(batch) == 1:
                    continue
                for ami in batch:
                    found.update(self.describe_store_tasks([ami]))
                continue
            for item in r.get("StoreImageTaskResults", []):
                task = _store_task(item)
                previous = found.get(task.ami_id)
                if previous is None or _ts(task.started) >= _ts(previous.started):
                    found[task.ami_id] = task
        return found

    def store_tasks_in_state(self, state: str) -> list[StoreTask]:
        """``ec2:DescribeStoreImageTasks`` with the ``task-state`` filter, every page: the store tasks
        of the whole account in the Region in ``state`` (``InProgress``, ``Completed``, ``Failed``)."""
        tasks: list[StoreTask] = []
        kwargs: dict[str, Any] = {
            "Filters": [{"Name": "task-state", "Values": [state]}],
            "MaxResults": DESCRIBE_STORE_PAGE,
        }
        while True:
            with aws_call("DescribeStoreImageTasks"):
                r = self.client.describe_store_image_tasks(**kwargs)
            tasks.extend(_store_task(item) for item in r.get("StoreImageTaskResults", []))
            token = r.get("NextToken")
            if not token:
                return tasks
            kwargs["NextToken"] = token

    def describe_images(self, ami_ids: Sequence[str]) -> dict[str, ImageInfo]:
        """``ec2:DescribeImages`` in batches of 200 (image-id filter), every page; unknown AMIs are
        simply absent."""
        found: dict[str, ImageInfo] = {}
        paginator = self.client.get_paginator("describe_images")
        for batch in _chunks(list(ami_ids), DESCRIBE_IMAGES_BATCH):
            # A filter, not ImageIds: an unknown id is simply absent instead of failing the batch. EC2
            # pages DescribeImages (NextToken) when MaxResults is given and recommends it: every page is read.
            images: list[dict[str, Any]] = []
            with aws_call("DescribeImages"):
                for page in paginator.paginate(
                    Filters=[{"Name": "image-id", "Values": list(batch)}],
                    PaginationConfig={"PageSize": DESCRIBE_IMAGES_PAGE},
                ):
                    images.extend(page.get("Images", []))
            for image in images:
                found[image["ImageId"]] = ImageInfo(
                    ami_id=image["ImageId"],
                    name=image.get("Name", ""),
                    description=image.get("Description", ""),
                    state=image.get("State", ""),
                    owner_id=image.get("OwnerId", ""),
                    root_device_type=image.get("RootDeviceType", ""),
                    virtualization_type=image.get("VirtualizationType", ""),
                    architecture=image.get("Architecture", ""),
                    block_devices=[
                        {k: v for k, v in bd.items() if k in {"DeviceName", "Ebs", "VirtualName"}}
                        for bd in image.get("BlockDeviceMappings", [])
                    ],
                    tags={t["Key"]: t["Value"] for t in image.get("Tags", [])},
                )
        return found

    def snapshot_keys(self, snapshot_ids: Sequence[str]) -> dict[str, str]:
        """``ec2:DescribeSnapshots`` (snapshot-id filter, every page): snapshot id -> the KMS key ARN it
        is encrypted with; unencrypted and unknown snapshots are absent."""
        keys: dict[str, str] = {}
        paginator = self.client.get_paginator("describe_snapshots")
        for batch in _chunks(sorted(set(snapshot_ids)), DESCRIBE_IMAGES_BATCH):
            with aws_call("DescribeSnapshots"):
                for page in paginator.paginate(
                    Filters=[{"Name": "snapshot-id", "Values": list(batch)}],
                    PaginationConfig={"PageSize": DESCRIBE_SNAPSHOTS_PAGE},
                ):
                    for snap in page.get("Snapshots", []):
                        if snap.get("Encrypted") and snap.get("KmsKeyId"):
                            keys[str(snap["SnapshotId"])] = str(snap["KmsKeyId"])
        return keys

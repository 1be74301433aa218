"""EC2: store image tasks, image descriptions, restore image tasks and encrypted copies.

One adapter over one EC2 client for both engines: the archive path stores AMIs and describes them,
the restore path restores them, follows them and copies them encrypted. Each method declares its IAM
actions with :func:`~coldvault.aws.permissions.permissions`. EC2 reads and writes the snapshots of a
store or restore task through the EBS direct APIs as the caller, and checks the account's encryption
default and the image's tags: those dependent actions are declared on the method that starts the
task (EC2 User Guide, "Permissions for storing and restoring AMIs using S3").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from coldvault import keys
from coldvault.aws.errors import aws_call, error_code, error_message, translate
from coldvault.aws.permissions import permissions
from coldvault.errors import AwsError, ImageNameTaken, NotFound, StoreQuotaExceeded

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, TagSpecificationTypeDef, TagTypeDef

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
class BlockDevice:
    """One EBS block device of an image, parsed."""

    device_name: str
    snapshot_id: str = ""
    volume_size_gib: int = 0
    volume_type: str = ""
    encrypted: bool | None = None  # None: the API did not say
    kms_key_id: str = ""

    def layout(self) -> tuple[str, int, str]:
        """What must survive a round trip: device, size, volume type."""
        return (self.device_name, self.volume_size_gib, self.volume_type)


@dataclass(frozen=True)
class ImageInfo:
    """One AMI as ``DescribeImages`` describes it (the archive's source AMIs and restored ones)."""

    ami_id: str
    name: str = ""
    description: str = ""
    state: str = ""  # pending | available | invalid | deregistered | failed | error ...
    owner_id: str = ""
    root_device_type: str = ""
    virtualization_type: str = ""
    architecture: str = ""
    # As the API gives them (DeviceName, Ebs, VirtualName): the manifest records them so.
    block_devices: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    state_reason: str = ""

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

    @property
    def devices(self) -> tuple[BlockDevice, ...]:
        """The EBS block devices, parsed (instance-store ones have no ``Ebs`` and are left out)."""
        found = []
        for mapping in self.block_devices:
            ebs = mapping.get("Ebs")
            if ebs is None:
                continue
            found.append(
                BlockDevice(
                    device_name=str(mapping.get("DeviceName", "")),
                    snapshot_id=str(ebs.get("SnapshotId", "")),
                    volume_size_gib=int(ebs.get("VolumeSize", 0)),
                    volume_type=str(ebs.get("VolumeType", "")),
                    encrypted=ebs.get("Encrypted"),
                    kms_key_id=str(ebs.get("KmsKeyId", "")),
                )
            )
        return tuple(found)

    @property
    def encrypted(self) -> bool:
        """Every EBS block device reports ``Encrypted: true``."""
        ebs = [b for b in self.devices if b.snapshot_id or b.volume_size_gib]
        return bool(ebs) and all(b.encrypted for b in ebs)


def image_from_api(raw: Mapping[str, Any]) -> ImageInfo:
    """An :class:`ImageInfo` from one ``Images`` entry of ``DescribeImages``."""
    return ImageInfo(
        ami_id=str(raw["ImageId"]),
        name=str(raw.get("Name", "")),
        description=str(raw.get("Description", "")),
        state=str(raw.get("State", "")),
        owner_id=str(raw.get("OwnerId", "")),
        root_device_type=str(raw.get("RootDeviceType", "")),
        virtualization_type=str(raw.get("VirtualizationType", "")),
        architecture=str(raw.get("Architecture", "")),
        block_devices=[
            {k: v for k, v in bd.items() if k in {"DeviceName", "Ebs", "VirtualName"}}
            for bd in raw.get("BlockDeviceMappings", [])
        ],
        tags={str(t["Key"]): str(t["Value"]) for t in raw.get("Tags", [])},
        state_reason=str((raw.get("StateReason") or {}).get("Message", "")),
    )


def tag_specifications(tags: dict[str, str]) -> list[TagSpecificationTypeDef]:
    """The same tags on the image and on its snapshots, set at creation."""
    tag_list: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return [
        {"ResourceType": "image", "Tags": tag_list},
        {"ResourceType": "snapshot", "Tags": tag_list},
    ]


_NAME_TAKEN_CODES = frozenset({"InvalidAMIName.Duplicate"})


def _store_task(item: Mapping[str, Any]) -> StoreTask:
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

    def __init__(self, client: EC2Client) -> None:
        self.client = client

    # -- store image tasks (archive) -----------------------------------------------------------
    @permissions(
        "ec2:CreateStoreImageTask",
        "s3:PutObject",
        "ec2:DescribeTags",
        "ec2:GetEbsEncryptionByDefault",
        "ebs:GetSnapshotBlock",
        "ebs:ListSnapshotBlocks",
    )
    def create_store_image_task(self, ami_id: str, bucket: str, tags: dict[str, str]) -> str:
        """Start a store image task; the object key EC2 will write (or has written), as the caller.

        EC2 answers ``InvalidRequest`` "The AMI already exists in the bucket…" when ``<ami>.bin`` is
        there (stored before): that object is the result, its key is returned. "A CreateStoreImageTask
        is already in progress for the AMI…" (EC2 stores an AMI once at a time, into any bucket) is
        raised as :class:`StoreQuotaExceeded`: wait and retry, as for the quota. (These are the answers
        public code sees from the real API; the API reference lists no errors.)
        """
        kwargs: dict[str, Any] = {"ImageId": ami_id, "Bucket": bucket}
        if tags:
            kwargs["S3ObjectTags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        try:
            with aws_call("CreateStoreImageTask"):
                r = self.client.create_store_image_task(**kwargs)
        except AwsError as exc:
            refusal = str(exc).lower()
            if exc.code == "InvalidRequest" and "already exists in the bucket" in refusal:
                return keys.staging_key(ami_id)
            if exc.code == "InvalidRequest" and "already in progress" in refusal:
                raise StoreQuotaExceeded(
                    str(exc),
                    code=exc.code,
                    operation=exc.operation,
                    hint="another store of this AMI is running; it is retried when that one ends",
                ) from exc
            raise
        return str(r.get("ObjectKey", keys.staging_key(ami_id)))

    @permissions("ec2:DescribeStoreImageTasks")
    def describe_store_tasks(self, ami_ids: Sequence[str]) -> dict[str, StoreTask]:
        """One ``DescribeStoreImageTasks`` per 20 AMIs; the newest task per AMI."""
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

    @permissions("ec2:DescribeStoreImageTasks")
    def store_tasks_in_state(self, state: str) -> list[StoreTask]:
        """``DescribeStoreImageTasks`` with the ``task-state`` filter, every page: the store tasks
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

    # -- images --------------------------------------------------------------------------------
    @permissions("ec2:DescribeImages")
    def describe_images(self, ami_ids: Sequence[str]) -> dict[str, ImageInfo]:
        """``DescribeImages`` in batches of 200 (image-id filter), every page; unknown AMIs are simply
        absent."""
        found: dict[str, ImageInfo] = {}
        paginator = self.client.get_paginator("describe_images")
        for batch in _chunks(list(ami_ids), DESCRIBE_IMAGES_BATCH):
            # A filter, not ImageIds: an unknown id is simply absent instead of failing the batch. EC2
            # pages DescribeImages (NextToken) when MaxResults is given and recommends it: every page is read.
            images: list[Mapping[str, Any]] = []
            with aws_call("DescribeImages"):
                for page in paginator.paginate(
                    Filters=[{"Name": "image-id", "Values": list(batch)}],
                    PaginationConfig={"PageSize": DESCRIBE_IMAGES_PAGE},
                ):
                    images.extend(page.get("Images", []))
            for image in images:
                found[image["ImageId"]] = image_from_api(image)
        return found

    @permissions("ec2:DescribeSnapshots")
    def snapshot_keys(self, snapshot_ids: Sequence[str]) -> dict[str, str]:
        """``DescribeSnapshots`` (snapshot-id filter, every page): snapshot id -> the KMS key ARN it is
        encrypted with; unencrypted and unknown snapshots are absent."""
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

    @permissions("ec2:DescribeImages")
    def describe_image(self, ami_id: str) -> ImageInfo | None:
        """One image by id, or ``None`` when it does not exist (any more)."""
        try:
            with aws_call("DescribeImages"):
                response = self.client.describe_images(ImageIds=[ami_id])
        except NotFound:  # InvalidAMIID.NotFound / .Unavailable
            return None
        images = [image_from_api(raw) for raw in response.get("Images", [])]
        return images[0] if images else None

    @permissions("ec2:DescribeImages")
    def find_images(self, *, tags: dict[str, str] | None = None, name: str | None = None) -> list[ImageInfo]:
        """The caller's images carrying every tag in ``tags`` (and named ``name``), oldest id first."""
        filters: list[FilterTypeDef] = [
            {"Name": f"tag:{key}", "Values": [value]} for key, value in (tags or {}).items()
        ]
        if name is not None:
            filters.append({"Name": "name", "Values": [name]})
        paginator = self.client.get_paginator("describe_images")
        found: list[ImageInfo] = []
        with aws_call("DescribeImages"):
            for page in paginator.paginate(Owners=["self"], Filters=filters):
                found.extend(image_from_api(raw) for raw in page.get("Images", []))
        return sorted(found, key=lambda i: i.ami_id)

    # -- restore image tasks and encrypted copies (restore) -------------------------------------
    @permissions(
        "ec2:CreateRestoreImageTask",
        "ec2:CreateTags",
        "ec2:DescribeTags",
        "ec2:GetEbsEncryptionByDefault",
        "ebs:StartSnapshot",
        "ebs:PutSnapshotBlock",
        "ebs:CompleteSnapshot",
        "s3:GetObject",
    )
    def create_restore_image_task(self, *, bucket: str, key: str, name: str, tags: dict[str, str]) -> str:
        """Start a restore image task (EC2 reads the object as the caller); the new AMI's id. Tags
        are set at creation."""
        try:
            response = self.client.create_restore_image_task(
                Bucket=bucket, ObjectKey=key, Name=name, TagSpecifications=tag_specifications(tags)
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            code = error_code(exc)
            if code in _NAME_TAKEN_CODES or (
                code == "InvalidParameterValue" and "already" in error_message(exc).lower()
            ):
                raise ImageNameTaken(
                    f"an AMI named {name!r} already exists in this Region",
                    hint="pass --name with another name",
                ) from exc
            raise translate(exc, "CreateRestoreImageTask") from exc
        return str(response["ImageId"])

    @permissions("ec2:CopyImage", "ec2:CreateTags", "kms:CreateGrant", "kms:DescribeKey")
    def copy_image(
        self,
        *,
        source_image_id: str,
        source_region: str,
        name: str,
        description: str,
        kms_key_id: str | None,
        client_token: str,
        tags: dict[str, str],
    ) -> str:
        """An encrypted copy of an image (idempotent through ``client_token``); the copy's id."""
        params: dict[str, Any] = {
            "SourceImageId": source_image_id,
            "SourceRegion": source_region,
            "Name": name,
            "Description": description,
            "Encrypted": True,
            "ClientToken": client_token,
            "TagSpecifications": tag_specifications(tags),
        }
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        with aws_call("CopyImage"):
            response = self.client.copy_image(**params)
        return str(response["ImageId"])

    @permissions("ec2:CreateTags")
    def add_tags(self, resource_ids: list[str], tags: dict[str, str]) -> None:
        """Put tags on resources (used where the API took no ``TagSpecifications``)."""
        with aws_call("CreateTags"):
            self.client.create_tags(
                Resources=resource_ids, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
            )

    @permissions("ec2:DeregisterImage", "ec2:DeleteSnapshot")
    def deregister_image(self, ami_id: str) -> None:
        """Deregister an image and delete its snapshots; an image already gone is not an error."""
        try:
            with aws_call("DeregisterImage"):
                self.client.deregister_image(ImageId=ami_id, DeleteAssociatedSnapshots=True)
        except NotFound:
            return

    @permissions("ec2:DescribeSnapshots")
    def existing_snapshots(self, snapshot_ids: Sequence[str]) -> set[str]:
        """Which of ``snapshot_ids`` still exist (a filter, so a deleted one is no error)."""
        found: set[str] = set()
        for chunk in _chunks(list(snapshot_ids), DESCRIBE_IMAGES_BATCH):
            with aws_call("DescribeSnapshots"):
                pages = self.client.get_paginator("describe_snapshots").paginate(
                    OwnerIds=["self"], Filters=[{"Name": "snapshot-id", "Values": list(chunk)}]
                )
                for page in pages:
                    found.update(str(s.get("SnapshotId", "")) for s in page.get("Snapshots", []))
        return found

    @permissions("ec2:GetEbsDefaultKmsKeyId")
    def default_kms_key(self) -> str:
        """The account's default KMS key for EBS encryption in this Region."""
        with aws_call("GetEbsDefaultKmsKeyId"):
            response = self.client.get_ebs_default_kms_key_id()
        return str(response.get("KmsKeyId", ""))

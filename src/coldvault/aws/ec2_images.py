"""EC2 for the restore path: restore image tasks, images, encrypted copies, tags.

Every function takes an EC2 client. ``IAM_ACTIONS`` names the IAM actions each one calls (a
restore image task also needs the EBS direct APIs and S3 reads, which EC2 performs on the caller's
behalf: they are listed under ``create_restore_image_task``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from coldvault.aws.errors import aws_call, error_code, error_message, translate
from coldvault.errors import ImageNameTaken

IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "describe_image": ("ec2:DescribeImages",),
    "find_images": ("ec2:DescribeImages",),
    "create_restore_image_task": (
        "ec2:CreateRestoreImageTask",
        "ec2:CreateTags",
        "ec2:DescribeTags",
        "ec2:GetEbsEncryptionByDefault",
        "ebs:StartSnapshot",
        "ebs:PutSnapshotBlock",
        "ebs:CompleteSnapshot",
        "s3:GetObject",
    ),
    "copy_image": ("ec2:CopyImage", "ec2:CreateTags", "kms:CreateGrant", "kms:DescribeKey"),
    "add_tags": ("ec2:CreateTags",),
    "deregister_image": ("ec2:DeregisterImage", "ec2:DeleteSnapshot"),
    "default_kms_key": ("ec2:GetEbsDefaultKmsKeyId",),
}

_NAME_TAKEN_CODES = frozenset({"InvalidAMIName.Duplicate"})


@dataclass(frozen=True)
class BlockDevice:
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
    image_id: str
    name: str
    state: str  # pending | available | invalid | deregistered | failed | error ...
    tags: dict[str, str] = field(default_factory=dict)
    block_devices: tuple[BlockDevice, ...] = ()
    state_reason: str = ""

    @property
    def encrypted(self) -> bool:
        """Every EBS block device reports ``Encrypted: true``."""
        ebs = [b for b in self.block_devices if b.snapshot_id or b.volume_size_gib]
        return bool(ebs) and all(b.encrypted for b in ebs)


def _image(raw: dict[str, Any]) -> ImageInfo:
    devices = []
    for mapping in raw.get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs")
        if ebs is None:
            continue
        devices.append(
            BlockDevice(
                device_name=str(mapping.get("DeviceName", "")),
                snapshot_id=str(ebs.get("SnapshotId", "")),
                volume_size_gib=int(ebs.get("VolumeSize", 0)),
                volume_type=str(ebs.get("VolumeType", "")),
                encrypted=ebs.get("Encrypted"),
                kms_key_id=str(ebs.get("KmsKeyId", "")),
            )
        )
    return ImageInfo(
        image_id=str(raw["ImageId"]),
        name=str(raw.get("Name", "")),
        state=str(raw.get("State", "")),
        tags={str(t["Key"]): str(t["Value"]) for t in raw.get("Tags", [])},
        block_devices=tuple(devices),
        state_reason=str(raw.get("StateReason", {}).get("Message", "")),
    )


def tag_specifications(tags: dict[str, str]) -> list[dict[str, Any]]:
    """The same tags on the image and on its snapshots, set at creation."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    return [
        {"ResourceType": "image", "Tags": tag_list},
        {"ResourceType": "snapshot", "Tags": tag_list},
    ]


def describe_image(client: Any, image_id: str) -> ImageInfo | None:
    """One image, or ``None`` when it does not exist (any more)."""
    try:
        response = client.describe_images(ImageIds=[image_id])
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in {"InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"}:
            return None
        raise translate(exc, "DescribeImages") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "DescribeImages") from exc
    images = [_image(raw) for raw in response.get("Images", [])]
    return images[0] if images else None


def find_images(
    client: Any, *, tags: dict[str, str] | None = None, name: str | None = None
) -> list[ImageInfo]:
    """The caller's images carrying every tag in ``tags`` (and named ``name``), oldest id first."""
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in (tags or {}).items()]
    if name is not None:
        filters.append({"Name": "name", "Values": [name]})
    paginator = client.get_paginator("describe_images")
    found: list[ImageInfo] = []
    with aws_call("DescribeImages"):
        for page in paginator.paginate(Owners=["self"], Filters=filters):
            found.extend(_image(raw) for raw in page.get("Images", []))
    return sorted(found, key=lambda i: i.image_id)


def create_restore_image_task(client: Any, *, bucket: str, key: str, name: str, tags: dict[str, str]) -> str:
    """Start a restore image task; the new AMI's id. Tags are set at creation."""
    try:
        response = client.create_restore_image_task(
            Bucket=bucket, ObjectKey=key, Name=name, TagSpecifications=tag_specifications(tags)
        )
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in _NAME_TAKEN_CODES or (
            code == "InvalidParameterValue" and "already" in error_message(exc).lower()
        ):
            raise ImageNameTaken(
                f"an AMI named {name!r} already exists in this Region",
                hint="pass --name with another name",
            ) from exc
        raise translate(exc, "CreateRestoreImageTask") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "CreateRestoreImageTask") from exc
    return str(response["ImageId"])


def copy_image(
    client: Any,
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
        response = client.copy_image(**params)
    return str(response["ImageId"])


def add_tags(client: Any, resource_ids: list[str], tags: dict[str, str]) -> None:
    """Put tags on resources (used where the API takes no ``TagSpecifications``)."""
    with aws_call("CreateTags"):
        client.create_tags(Resources=resource_ids, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def deregister_image(client: Any, image_id: str) -> None:
    """Deregister an image and delete its snapshots; an image already gone is not an error."""
    try:
        client.deregister_image(ImageId=image_id, DeleteAssociatedSnapshots=True)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in {"InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"}:
            return
        raise translate(exc, "DeregisterImage") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, "DeregisterImage") from exc


def default_kms_key(client: Any) -> str:
    """The account's default KMS key for EBS encryption in this Region."""
    with aws_call("GetEbsDefaultKmsKeyId"):
        response = client.get_ebs_default_kms_key_id()
    return str(response.get("KmsKeyId", ""))

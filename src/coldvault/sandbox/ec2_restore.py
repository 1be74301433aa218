"""``CreateRestoreImageTask``: a stored AMI object becomes a new AMI, ``pending`` then ``available``.

The new AMI is a :class:`RestoredAmi`, a moto ``Ami`` whose block devices are the stored AMI's
(one new snapshot per device, same sizes) and whose ``state`` is computed from the virtual clock,
so moto's ``DescribeImages`` (and its ``state`` filter) report ``pending`` until the restore is
done, without any change to moto's code paths.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from moto.ec2.models.amis import Ami
from moto.ec2.utils import random_ami_id

from coldvault.sandbox import s3_objects
from coldvault.sandbox.ec2_models import (
    LOCK,
    ImageTaskError,
    RestoreImageTask,
    check_faults_and_dry_run,
    quota_message,
    tasks_of,
)
from coldvault.sandbox.state import GIB, STATE

NAME_PATTERN = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
TAGGABLE = ("image", "snapshot")
MAX_TAGS = 50


class RestoredAmi(Ami):  # type: ignore[misc]
    """An AMI registered by a restore task: its block devices come from the stored object."""

    def __init__(
        self,
        backend: Any,
        image_id: str,
        name: str,
        header: dict[str, Any],
        zone: str,
        available_at: datetime,
        snapshot_description: str,
    ) -> None:
        self._available_at = available_at
        self._state = "pending"
        super().__init__(
            backend,
            image_id,
            name=name,
            description=header.get("description") or None,
            architecture=header.get("architecture") or "x86_64",
            virtualization_type="hvm",
            root_device_type="ebs",
            root_device_name=header.get("root_device_name") or "/dev/xvda",
            hypervisor="xen",
            boot_mode=header.get("boot_mode") or "uefi-preferred",
            region_name=zone,
            creation_date=STATE.clock.now(),
            snapshot_description=snapshot_description,
        )
        # moto's Ami always makes one 15 GiB placeholder snapshot: replace it by the real devices.
        backend.snapshots.pop(self.ebs_snapshot.id, None)
        self.snapshots: list[Any] = []
        self._mappings: list[dict[str, Any]] = []
        for device in header.get("block_devices") or []:
            volume = backend.create_volume(size=int(device["size_gib"]), zone_name=zone)
            snapshot = backend.create_snapshot(
                volume.id, snapshot_description, self.owner_id, from_ami=image_id
            )
            backend.delete_volume(volume.id)
            self.snapshots.append(snapshot)
            self._mappings.append(
                {
                    "DeviceName": device["device"],
                    "Ebs": {
                        "SnapshotId": snapshot.id,
                        "VolumeSize": int(device["size_gib"]),
                        "DeleteOnTermination": bool(device.get("delete_on_termination", True)),
                        "VolumeType": device.get("volume_type") or "gp3",
                        "Encrypted": False,
                    },
                }
            )

    @property
    def state(self) -> str:
        if self._state == "pending" and STATE.clock.now() >= self._available_at:
            self._state = "available"
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value if value != "available" or STATE.clock.now() >= self._available_at else "pending"

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:
        return self._mappings


def restore_in_progress_bytes(backend: Any, now: datetime) -> int:
    return sum(t.size_bytes for t in tasks_of(backend).restores if now < t.available_at)


def parse_tag_specifications(specs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``{resource type: {key: value}}`` from the request, with EC2's rules: only ``image`` and
    ``snapshot``, no ``aws:`` keys, at most 50 tags per resource."""
    result: dict[str, dict[str, str]] = {}
    for spec in specs:
        kind = spec.get("ResourceType")
        if kind not in TAGGABLE:
            raise ImageTaskError(
                "InvalidParameterValue",
                f"'{kind}' is not a valid taggable resource type for this operation; "
                "use 'image' or 'snapshot'.",
            )
        tags = result.setdefault(str(kind), {})
        for tag in spec.get("Tags") or []:
            key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
            if key.lower().startswith("aws:"):
                raise ImageTaskError(
                    "InvalidParameterValue",
                    f"Tag key {key!r}: tag keys starting with 'aws:' are reserved for internal use.",
                )
            tags[key] = value
        if len(tags) > MAX_TAGS:
            raise ImageTaskError(
                "TagLimitExceeded", f"The maximum number of tags per {kind} is {MAX_TAGS}; {len(tags)} given."
            )
    return result


def create_restore_task(
    backend: Any,
    account_id: str,
    region: str,
    bucket: str,
    object_key: str,
    name: str | None,
    tag_specifications: list[dict[str, Any]],
    dry_run: bool = False,
) -> RestoredAmi:
    """Register a new AMI from a stored AMI object (see docs/sandbox-ec2.md for the rules)."""
    check_faults_and_dry_run(
        "CreateRestoreImageTask", (bucket, object_key, f"{bucket}/{object_key}"), dry_run
    )
    tags = parse_tag_specifications(tag_specifications)
    with LOCK:
        try:
            stored = s3_objects.read_stored(account_id, region, bucket, object_key)
        except s3_objects.StoredObjectError as e:
            raise ImageTaskError(e.code, e.message) from e
        header = stored.header
        new_name = name if name is not None else str(header.get("name") or "")
        if not NAME_PATTERN.match(new_name):
            raise ImageTaskError(
                "InvalidAMIName.Malformed",
                f"AMI name {new_name!r} must be 3-128 characters of letters, digits and ( ) [ ] . / - ' @ _ "
                "or spaces.",
            )
        if any(image.name == new_name for image in list(backend.amis.values())):
            raise ImageTaskError(
                "InvalidAMIName.Duplicate",
                f"AMI name {new_name} is already in use by an AMI in this Region; choose another name.",
            )
        now = STATE.clock.now()
        if restore_in_progress_bytes(backend, now) >= STATE.settings.restore_quota_bytes:
            raise ImageTaskError("ResourceLimitExceeded", quota_message("CreateRestoreImageTask"))
        size = sum(int(d["size_gib"]) for d in header.get("block_devices") or []) * GIB
        settings = STATE.settings
        rate = settings.restore_bytes_per_second
        restore_seconds = size / rate if rate > 0 else 0.0
        available_at = now + timedelta(seconds=restore_seconds + settings.image_available_after_seconds)
        image_id = random_ami_id()
        image = RestoredAmi(
            backend,
            image_id,
            new_name,
            header,
            zone=f"{region}a",
            available_at=available_at,
            snapshot_description=(
                f"Created by CreateRestoreImageTask(s3://{bucket}/{object_key}) for {image_id}"
            ),
        )
        image.add_tags(tags.get("image", {}))
        for snapshot in image.snapshots:
            snapshot.add_tags(tags.get("snapshot", {}))
        backend.amis[image_id] = image
        tasks_of(backend).restores.append(
            RestoreImageTask(
                image_id=image_id,
                bucket=bucket,
                object_key=object_key,
                start_time=now,
                size_bytes=size,
                available_at=available_at,
            )
        )
        return image

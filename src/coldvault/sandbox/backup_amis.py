"""The EC2 side of an AWS Backup recovery point: an AMI with one snapshot per EBS volume.

AWS Backup backs an EC2 instance up as an AMI named ``AwsBackup_<instance-id>_<uuid>``, described
"This AMI is created by AWS Backup", whose block device mappings point at one snapshot per EBS
volume of the instance. moto's own ``Ami`` always makes a single 15 GiB snapshot; :class:`BackupAmi`
replaces it with the real set so that the AMI's size (the sum of its snapshots' volume sizes) is the
size of the instance that was backed up.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.amis import Ami

GIB = 1024**3
AMI_DESCRIPTION = "This AMI is created by AWS Backup"


class BackupAmi(Ami):  # type: ignore[misc]
    """An AMI whose block device mappings are the snapshots AWS Backup made of each volume."""

    def __init__(
        self,
        ec2_backend: Any,
        ami_id: str,
        *,
        name: str,
        volumes: list[tuple[str, int, bool]],
        instance: Any = None,
        tags: dict[str, str] | None = None,
        creation_date: Any = None,
    ) -> None:
        """``volumes``: (device name, size in GiB, encrypted) per EBS volume, root first."""
        super().__init__(
            ec2_backend,
            ami_id,
            instance=instance,
            name=name,
            description=AMI_DESCRIPTION,
            root_device_type="ebs",
            root_device_name=volumes[0][0] if volumes else "/dev/xvda",
            creation_date=creation_date,
            virtualization_type="hvm",
            architecture="x86_64",
            hypervisor="xen",
            tags=tags,
        )
        # moto's Ami made one placeholder snapshot: replace it by the real ones.
        placeholder: Any = self.__dict__["ebs_snapshot"]
        ec2_backend.snapshots.pop(placeholder.id, None)
        zone = f"{ec2_backend.region_name}a"
        source_keys = _volume_keys(ec2_backend, instance) if instance is not None else {}
        self.volume_snapshots: list[tuple[str, Any]] = []
        for device, size_gib, encrypted in volumes:
            volume = ec2_backend.create_volume(
                size=size_gib,
                zone_name=zone,
                encrypted=encrypted,
                kms_key_id=source_keys.get(device) if encrypted else None,
            )
            snapshot = ec2_backend.create_snapshot(
                volume.id, "This snapshot is created by the AWS Backup service.", from_ami=ami_id
            )
            # A snapshot is encrypted with its volume's KMS key (moto's create_snapshot drops the key).
            snapshot.kms_key_id = volume.kms_key_id if encrypted else None
            ec2_backend.delete_volume(volume.id)
            if tags:
                snapshot.add_tags(tags)
            self.volume_snapshots.append((device, snapshot))
        if self.volume_snapshots:
            self.ebs_snapshot = self.volume_snapshots[0][1]

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:
        return [
            {
                "DeviceName": device,
                "Ebs": {
                    "SnapshotId": snapshot.id,
                    "VolumeSize": snapshot.volume.size,
                    "DeleteOnTermination": True,
                    "VolumeType": "gp3",
                    "Encrypted": bool(snapshot.encrypted),
                },
            }
            for device, snapshot in self.volume_snapshots
        ]

    @property
    def size_bytes(self) -> int:
        """The AMI's size: the sum of its snapshots' volume sizes."""
        return sum(int(snapshot.volume.size) * GIB for _, snapshot in self.volume_snapshots)


def _volume_keys(ec2_backend: Any, instance: Any) -> dict[str, str]:
    """Device -> KMS key ARN of each encrypted EBS volume attached to ``instance``."""
    keys: dict[str, str] = {}
    for device, block in instance.get_block_device_mapping:
        volume = ec2_backend.get_volume(block.volume_id)
        if volume.encrypted and volume.kms_key_id:
            keys[device] = str(volume.kms_key_id)
    return keys


def instance_volumes(ec2_backend: Any, instance: Any) -> list[tuple[str, int, bool]]:
    """(device, GiB, encrypted) of each EBS volume attached to ``instance``, root device first."""
    out: list[tuple[str, int, bool]] = []
    for device, block in instance.get_block_device_mapping:
        volume = ec2_backend.get_volume(block.volume_id)
        out.append((device, int(volume.size), bool(volume.encrypted)))
    root = getattr(instance, "root_device_name", None) or "/dev/sda1"
    out.sort(key=lambda v: (v[0] != root, v[0]))
    return out


def register_backup_ami(ec2_backend: Any, ami_id: str, **fields: Any) -> BackupAmi:
    """A :class:`BackupAmi` (``fields`` as its constructor takes them), registered with the backend."""
    ami = BackupAmi(ec2_backend, ami_id, **fields)
    ec2_backend.amis[ami_id] = ami
    return ami


def delete_backup_ami(ec2_backend: Any, ami_id: str) -> None:
    """Deregister the AMI and delete its snapshots, as AWS Backup does on DeleteRecoveryPoint."""
    ami = ec2_backend.amis.get(ami_id)
    if ami is None:
        return
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in ami.block_device_mappings if "Ebs" in m]
    ec2_backend.deregister_image(ami_id)
    for snapshot_id in snapshot_ids:
        ec2_backend.snapshots.pop(snapshot_id, None)

"""Manifests for unit tests: one valid :class:`~coldvault.manifest.Manifest`, changed by keyword."""

from __future__ import annotations

from datetime import UTC, datetime

from coldvault import keys
from coldvault.manifest import Archive, BlockDevice, Image, Manifest, Staging, Verification
from coldvault.models import RecoveryPoint

AMI = "ami-0123456789abcdef0"
ARCHIVE_KEY = f"recovery-points/123456789012/us-east-1/i-0abc/2026/01/02/{AMI}.bin"


def a_manifest(
    *,
    archive_key: str = ARCHIVE_KEY,
    storage_class: str = "GLACIER",
    size: int = 10 * 1024**3,
    image_name: str = "AwsBackup_i-0abc_3f2a",
    image_tags: dict[str, str] | None = None,
    point_tags: dict[str, str] | None = None,
    devices: tuple[BlockDevice, ...] = (BlockDevice("/dev/xvda", snapshot_id="snap-1", volume_size_gib=8),),
    encrypted: bool = False,
    with_image: bool = True,
    created: datetime = datetime(2026, 1, 2, 5, tzinfo=UTC),
    verified_at: datetime = datetime(2026, 2, 1, tzinfo=UTC),
) -> Manifest:
    point = RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/{AMI}",
        vault_name="v",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=created,
        is_encrypted=encrypted,
        tags=dict(point_tags or {}),
    )
    image = Image(ami_id=AMI, name=image_name, block_devices=devices, tags=dict(image_tags or {}))
    return Manifest(
        ami_id=AMI,
        recovery_point=point,
        image=image if with_image else None,
        archive=Archive(bucket="b", key=archive_key, storage_class=storage_class, size=size),
        staging=Staging(key=keys.staging_key(AMI), size=size),
        verification=Verification(
            verified=True,
            at=verified_at,
            size_matches=True,
            storage_class_matches=True,
            checksum_recorded=True,
            content_checked=False,
        ),
    )

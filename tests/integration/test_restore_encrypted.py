"""An encrypted original comes back encrypted: the plain restored AMI is copied with encryption (the
given kms_key key, or the account's default EBS key) and then removed; the copy keeps the original's block
devices; the output says so, verified from what EC2 reports."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from coldvault.restore import RestoreOptions, Stage, run_restore
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    count_calls,
    make_bucket,
    restore_services,
)
from tests.integration.test_restore_support import seeded_point as seed

pytestmark = pytest.mark.integration
BUCKET = "archive-encrypted"
LAYOUT = [("/dev/xvda", 8, "gp3"), ("/dev/xvdb", 50, "gp3")]


def _accept(*_: Any) -> None:
    return None


def _devices(image: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (m["DeviceName"], m["Ebs"]["VolumeSize"], m["Ebs"]["VolumeType"])
        for m in image["BlockDeviceMappings"]
    ]


def test_encrypted_original_is_restored_encrypted(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    make_bucket(BUCKET)
    kms_key = boto3.client("kms", region_name=REGION).create_key(Description="restores")["KeyMetadata"]["Arn"]
    point = seed(admin, tags={"Name": "vault-db"}, volumes=[(d, s, True) for d, s, _ in LAYOUT])
    ami_id, key = archive_point(admin, BUCKET, "GLACIER_IR", point["RecoveryPointArn"])
    ec2 = boto3.client("ec2", region_name=REGION)
    copies = count_calls(ec2, "CopyImage")
    svc = restore_services(admin, ec2=ec2)

    work = run_restore(
        svc, RestoreOptions(kms_key_id=kms_key), ami_id, bucket=BUCKET, wait=True, confirm=_accept
    )

    assert work.stage is Stage.DONE
    assert work.encrypted
    assert work.encryption_verified  # EC2 reports every device of the copy encrypted
    assert work.kms_key_id == kms_key
    assert [(d["device"], d["size_gib"], d["volume_type"], d["encrypted"]) for d in work.block_devices] == [
        (*device, True) for device in LAYOUT
    ]
    assert copies == ["CopyImage"]
    restored = ec2.describe_images(
        Owners=["self"], Filters=[{"Name": "tag:coldvault:restored-from", "Values": [key]}]
    )["Images"]
    # Only the encrypted copy is left, under the final name; the plain image is gone.
    assert [i["ImageId"] for i in restored] == [work.image_id]
    assert restored[0]["Name"] == work.name
    assert not work.name.endswith("-unencrypted")
    # The original's layout, each device a new snapshot encrypted with the requested key.
    assert _devices(restored[0]) == LAYOUT
    assert {(m["Ebs"]["Encrypted"], m["Ebs"]["KmsKeyId"]) for m in restored[0]["BlockDeviceMappings"]} == {
        (True, kms_key)
    }
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in restored[0]["BlockDeviceMappings"]]
    snapshots = ec2.describe_snapshots(SnapshotIds=snapshot_ids)["Snapshots"]
    assert [(s["Encrypted"], s["KmsKeyId"]) for s in snapshots] == [(True, kms_key)] * len(LAYOUT)
    assert ec2.describe_images(ImageIds=[work.plain_image_id])["Images"] == []

    again = run_restore(
        svc, RestoreOptions(kms_key_id=kms_key), ami_id, bucket=BUCKET, wait=True, confirm=_accept
    )
    assert again.image_id == work.image_id
    assert again.adopted
    assert copies == ["CopyImage"]


def test_encrypted_original_without_a_key_uses_the_default_ebs_key(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    make_bucket(BUCKET)
    point = seed(admin, tags={"Name": "vault-web"}, volumes=[(d, s, True) for d, s, _ in LAYOUT])
    ami_id, _ = archive_point(admin, BUCKET, "GLACIER_IR", point["RecoveryPointArn"])
    ec2 = boto3.client("ec2", region_name=REGION)
    svc = restore_services(admin, ec2=ec2)

    work = run_restore(svc, RestoreOptions(), ami_id, bucket=BUCKET, wait=True, confirm=_accept)

    default_key = ec2.get_ebs_default_kms_key_id()["KmsKeyId"]
    assert work.stage is Stage.DONE
    assert work.encryption_verified
    assert work.kms_key_id == default_key
    (image,) = ec2.describe_images(ImageIds=[work.image_id])["Images"]
    assert _devices(image) == LAYOUT
    assert {m["Ebs"].get("KmsKeyId") for m in image["BlockDeviceMappings"]} == {default_key}

"""The sandbox's CreateRestoreImageTask over HTTP with boto3: a stored AMI object becomes a new AMI,
``pending`` then ``available``, with one snapshot per original block device and the requested
tags; archived objects must be restored first; names are unique; the restore quota holds."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.fleet import ec2_client, s3_with_bucket
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

GIB = 1024**3
BUCKET = "ami-restore-bucket"


@pytest.fixture
def ec2(aws_env: dict[str, str]) -> Any:
    return ec2_client()


@pytest.fixture
def s3(aws_env: dict[str, str]) -> Any:
    return s3_with_bucket(BUCKET)


def stored_ami(admin: SandboxAdmin, ec2: Any, sizes_gib: list[int]) -> tuple[str, str]:
    """(AMI id, object key) of an AMI of these volume sizes, stored into BUCKET."""
    point = admin.create_recovery_point(vault_name="vault", create_vault=True, volume_sizes_gib=sizes_gib)
    image_id = str(point["RecoveryPointArn"].rsplit("/", 1)[1])
    key = ec2.create_store_image_task(ImageId=image_id, Bucket=BUCKET)["ObjectKey"]
    admin.advance_clock(3600)
    (task,) = ec2.describe_store_image_tasks(ImageIds=[image_id])["StoreImageTaskResults"]
    assert task["StoreTaskState"] == "Completed"
    return image_id, str(key)


def restore(ec2: Any, key: str, bucket: str = BUCKET, **kwargs: Any) -> str:
    response = ec2.create_restore_image_task(Bucket=bucket, ObjectKey=key, **kwargs)
    assert shape_errors("ec2", "CreateRestoreImageTask", response) == []
    return str(response["ImageId"])


def image(ec2: Any, image_id: str) -> dict[str, Any]:
    (found,) = ec2.describe_images(ImageIds=[image_id])["Images"]
    return dict(found)


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_restore_registers_a_new_ami_pending_then_available(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(restore_bytes_per_second=GIB, image_available_after_seconds=5)
    original, key = stored_ami(admin, ec2, [8, 100])
    tags = [
        {"ResourceType": "image", "Tags": [{"Key": "coldvault:restored-from", "Value": key}]},
        {"ResourceType": "snapshot", "Tags": [{"Key": "team", "Value": "db"}]},
    ]
    new_id = restore(ec2, key, Name="restored-db", TagSpecifications=tags)

    assert new_id != original
    assert new_id.startswith("ami-")
    pending = image(ec2, new_id)
    assert pending["State"] == "pending"
    assert pending["Name"] == "restored-db"
    assert pending["RootDeviceType"] == "ebs"
    assert pending["VirtualizationType"] == "hvm"
    assert pending["Tags"] == [{"Key": "coldvault:restored-from", "Value": key}]
    pending_filter = [{"Name": "state", "Values": ["pending"]}]
    assert [i["ImageId"] for i in ec2.describe_images(Owners=["self"], Filters=pending_filter)["Images"]] == [
        new_id
    ]
    original_devices = [
        (m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in image(ec2, original)["BlockDeviceMappings"]
    ]
    devices = [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in pending["BlockDeviceMappings"]]
    assert devices == original_devices
    assert sorted(size for _, size in devices) == [8, 100]
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in pending["BlockDeviceMappings"]]
    original_snapshots = {m["Ebs"]["SnapshotId"] for m in image(ec2, original)["BlockDeviceMappings"]}
    assert not original_snapshots & set(snapshot_ids)
    snapshots = ec2.describe_snapshots(SnapshotIds=snapshot_ids)["Snapshots"]
    assert sorted(s["VolumeSize"] for s in snapshots) == [8, 100]
    assert all(s["Tags"] == [{"Key": "team", "Value": "db"}] for s in snapshots)

    admin.advance_clock(108 + 5 - 2)
    assert image(ec2, new_id)["State"] == "pending"
    admin.advance_clock(3)
    available = image(ec2, new_id)
    assert available["State"] == "available"
    described = ec2.describe_images(ImageIds=[new_id])
    assert shape_errors("ec2", "DescribeImages", described) == []


def test_archived_object_must_be_restored_first(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    _, key = stored_ami(admin, ec2, [8])
    for storage_class in ("GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"):
        s3.copy_object(
            Bucket=BUCKET,
            Key=f"archive/{storage_class}/{key}",
            CopySource={"Bucket": BUCKET, "Key": key},
            StorageClass=storage_class,
            MetadataDirective="REPLACE",
            Metadata={"coldvault-note": "metadata replaced by the copy"},
        )
    s3.delete_object(Bucket=BUCKET, Key=key)

    assert error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=f"archive/GLACIER/{key}") == (
        "IncorrectState"
    )
    assert (
        error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=f"archive/DEEP_ARCHIVE/{key}")
        == "IncorrectState"
    )
    # GLACIER_IR is readable at once; the body, not the metadata, is what a restore needs.
    restore(ec2, f"archive/GLACIER_IR/{key}", Name="from-instant-retrieval")

    s3.restore_object(Bucket=BUCKET, Key=f"archive/GLACIER/{key}", RestoreRequest={"Days": 1})
    head = s3.head_object(Bucket=BUCKET, Key=f"archive/GLACIER/{key}")
    assert 'ongoing-request="false"' in head["Restore"]
    restore(ec2, f"archive/GLACIER/{key}", Name="from-glacier")


def test_restore_in_progress_object_is_refused(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    _, key = stored_ami(admin, ec2, [8])
    admin.update_settings(glacier_restore_scale=1.0)  # a Standard restore of GLACIER: 5 h of sandbox time
    s3.copy_object(
        Bucket=BUCKET, Key=f"cold/{key}", CopySource={"Bucket": BUCKET, "Key": key}, StorageClass="GLACIER"
    )
    s3.restore_object(Bucket=BUCKET, Key=f"cold/{key}", RestoreRequest={"Days": 1})

    def restore_header() -> str:
        return str(s3.head_object(Bucket=BUCKET, Key=f"cold/{key}")["Restore"])

    assert restore_header() == 'ongoing-request="true"'
    assert (
        error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=f"cold/{key}") == "IncorrectState"
    )
    admin.advance_clock(5 * 3600 + 1)
    restore(ec2, f"cold/{key}", Name="after-restore")  # the first look at the completed restore
    assert 'ongoing-request="false"' in restore_header()


def test_names_are_unique_in_the_region(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    original, key = stored_ami(admin, ec2, [8])
    original_name = image(ec2, original)["Name"]
    # Without a Name the original's name is used: taken while the original exists.
    assert (
        error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=key) == "InvalidAMIName.Duplicate"
    )
    restore(ec2, key, Name="copy-one")
    assert (
        error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=key, Name="copy-one")
        == "InvalidAMIName.Duplicate"
    )
    assert (
        error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=key, Name="bad*name")
        == "InvalidAMIName.Malformed"
    )
    ec2.deregister_image(ImageId=original)
    restored = restore(ec2, key)
    assert image(ec2, restored)["Name"] == original_name


def test_refusals(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    _, key = stored_ami(admin, ec2, [8])
    s3.put_object(Bucket=BUCKET, Key="notes.txt", Body=b"not an AMI")

    def refused(**kwargs: Any) -> str:
        return error_code(ec2.create_restore_image_task, **({"Bucket": BUCKET, "ObjectKey": key} | kwargs))

    assert refused(ObjectKey="notes.txt", Name="n-1") == "InvalidParameterValue"
    assert refused(ObjectKey="missing.bin", Name="n-2") == "InvalidParameterValue"
    assert refused(Bucket="no-such-bucket", Name="n-3") == "InvalidParameterValue"
    aws_tag = [{"ResourceType": "image", "Tags": [{"Key": "aws:backup:source-resource", "Value": "x"}]}]
    assert refused(Name="n-4", TagSpecifications=aws_tag) == "InvalidParameterValue"
    instance_tag = [{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]
    assert refused(Name="n-5", TagSpecifications=instance_tag) == "InvalidParameterValue"
    assert refused(Name="n-6", DryRun=True) == "DryRunOperation"
    assert ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["n-*"]}])["Images"] == []


def test_restore_quota(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(restore_bytes_per_second=GIB, restore_quota_bytes=50 * GIB)
    _, big = stored_ami(admin, ec2, [60])
    _, small = stored_ami(admin, ec2, [8])
    first = restore(ec2, big, Name="big-one")  # over the quota on its own, but nothing else runs
    assert error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=small, Name="small-one") == (
        "ResourceLimitExceeded"
    )
    admin.advance_clock(60 + admin.settings()["image_available_after_seconds"])
    assert image(ec2, first)["State"] == "available"
    restore(ec2, small, Name="small-one")


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("throttle", "RequestLimitExceeded"),
        ("access_denied", "UnauthorizedOperation"),
        ("quota", "ResourceLimitExceeded"),
    ],
)
def test_injected_faults(admin: SandboxAdmin, ec2: Any, s3: Any, kind: str, code: str) -> None:
    _, key = stored_ami(admin, ec2, [8])
    admin.add_fault("CreateRestoreImageTask", kind, times=1, resources=[key])
    assert error_code(ec2.create_restore_image_task, Bucket=BUCKET, ObjectKey=key, Name="faulty") == code
    restore(ec2, key, Name="faulty")

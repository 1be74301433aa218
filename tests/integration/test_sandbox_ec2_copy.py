"""The sandbox's CopyImage over HTTP with boto3: the copy keeps the source's block-device layout with
new snapshots, is encrypted with the given (or the account's default) KMS key when asked, never
decrypts an encrypted source, carries its TagSpecifications, is idempotent on ClientToken, and is
``pending`` before ``available``."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.fleet import ec2_client, run_instance
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

GIB = 1024**3
REGION = "us-east-1"


@pytest.fixture
def ec2(aws_env: dict[str, str]) -> Any:
    return ec2_client()


def source_image(admin: SandboxAdmin, ec2: Any, volumes: list[tuple[str, int, bool]]) -> str:
    """A recovery point's AMI of an instance with ``volumes`` (device, GiB, encrypted)."""
    instance_id = run_instance(ec2, volumes)
    point = admin.create_recovery_point(vault_name="vault", instance_id=instance_id, create_vault=True)
    return str(point["RecoveryPointArn"].rsplit("/", 1)[1])


def copy(ec2: Any, source: str, name: str, **kwargs: Any) -> str:
    response = ec2.copy_image(SourceImageId=source, SourceRegion=REGION, Name=name, **kwargs)
    assert shape_errors("ec2", "CopyImage", response) == []
    return str(response["ImageId"])


def describe(ec2: Any, image_id: str) -> dict[str, Any]:
    response = ec2.describe_images(ImageIds=[image_id])
    # The seeded instances run moto's Windows base image: EC2 itself answers Platform "windows" in
    # lower case, though botocore's model lists only "Windows"; every other member is checked.
    errors = shape_errors("ec2", "DescribeImages", response)
    assert [e for e in errors if ".Platform: 'windows'" not in e] == []
    (image,) = response["Images"]
    return dict(image)


def layout(image: dict[str, Any]) -> list[tuple[str, int, str, bool]]:
    return [
        (m["DeviceName"], m["Ebs"]["VolumeSize"], m["Ebs"]["VolumeType"], m["Ebs"]["DeleteOnTermination"])
        for m in image["BlockDeviceMappings"]
    ]


def test_encrypted_copy_keeps_the_layout_with_new_snapshots_and_the_given_key(
    admin: SandboxAdmin, ec2: Any
) -> None:
    admin.update_settings(copy_image_bytes_per_second=GIB, image_available_after_seconds=5)
    kms = boto3.client("kms")
    key_arn = kms.create_key(Description="restores")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/restores", TargetKeyId=key_arn)
    source = source_image(admin, ec2, [("/dev/xvda", 8, False), ("/dev/xvdb", 50, False)])
    tag = [{"Key": "team", "Value": "db"}]
    copy_id = copy(
        ec2, source, "db-encrypted", Encrypted=True, KmsKeyId="alias/restores",
        TagSpecifications=[{"ResourceType": "image", "Tags": tag}, {"ResourceType": "snapshot", "Tags": tag}],
    )  # fmt: skip

    original, copied = describe(ec2, source), describe(ec2, copy_id)
    assert copied["State"] == "pending"
    assert copied["Name"] == "db-encrypted"
    assert layout(copied) == layout(original)
    assert [m["Ebs"]["VolumeSize"] for m in copied["BlockDeviceMappings"]] == [8, 50]
    new_snapshots = [m["Ebs"]["SnapshotId"] for m in copied["BlockDeviceMappings"]]
    assert not set(new_snapshots) & {m["Ebs"]["SnapshotId"] for m in original["BlockDeviceMappings"]}
    assert all(m["Ebs"]["Encrypted"] for m in copied["BlockDeviceMappings"])
    assert {m["Ebs"]["KmsKeyId"] for m in copied["BlockDeviceMappings"]} == {key_arn}
    assert {t["Key"]: t["Value"] for t in copied["Tags"]} == {"team": "db"}
    snapshots = ec2.describe_snapshots(SnapshotIds=new_snapshots)["Snapshots"]
    assert all(s["Encrypted"] and s["KmsKeyId"] == key_arn for s in snapshots)
    assert all({t["Key"]: t["Value"] for t in s["Tags"]} == {"team": "db"} for s in snapshots)

    admin.advance_clock(58 * GIB / GIB + 5 + 1)
    assert describe(ec2, copy_id)["State"] == "available"


def test_encrypted_without_a_key_uses_the_default_ebs_key(admin: SandboxAdmin, ec2: Any) -> None:
    source = source_image(admin, ec2, [("/dev/xvda", 8, False)])
    copied = describe(ec2, copy(ec2, source, "default-key", Encrypted=True))
    default = ec2.get_ebs_default_kms_key_id()["KmsKeyId"]
    ((device, ebs),) = [(m["DeviceName"], m["Ebs"]) for m in copied["BlockDeviceMappings"]]
    assert device == "/dev/xvda"
    assert ebs["Encrypted"] is True
    assert ebs["KmsKeyId"] == default
    assert default.startswith("arn:aws:kms:")


def test_an_encrypted_source_stays_encrypted_and_a_plain_one_stays_plain(
    admin: SandboxAdmin, ec2: Any
) -> None:
    encrypted = source_image(admin, ec2, [("/dev/xvda", 8, True)])
    plain = source_image(admin, ec2, [("/dev/xvda", 8, False)])
    kept = describe(ec2, copy(ec2, encrypted, "still-encrypted"))
    assert [m["Ebs"]["Encrypted"] for m in kept["BlockDeviceMappings"]] == [True]
    assert kept["BlockDeviceMappings"][0]["Ebs"]["KmsKeyId"].startswith("arn:aws:kms:")
    unchanged = describe(ec2, copy(ec2, plain, "still-plain"))
    assert [m["Ebs"]["Encrypted"] for m in unchanged["BlockDeviceMappings"]] == [False]
    assert "KmsKeyId" not in unchanged["BlockDeviceMappings"][0]["Ebs"]


def test_client_token_makes_the_copy_idempotent(admin: SandboxAdmin, ec2: Any) -> None:
    source = source_image(admin, ec2, [("/dev/xvda", 8, False)])
    first = copy(ec2, source, "once", Encrypted=True, ClientToken="restore-1")
    again = copy(ec2, source, "once", Encrypted=True, ClientToken="restore-1")
    assert again == first
    named = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["once"]}])["Images"]
    assert [i["ImageId"] for i in named] == [first]
    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "other-name", Encrypted=True, ClientToken="restore-1")
    assert caught.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_bad_requests_are_refused_and_an_unknown_key_fails_the_copy(admin: SandboxAdmin, ec2: Any) -> None:
    source = source_image(admin, ec2, [("/dev/xvda", 8, False)])
    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "no-flag", KmsKeyId="alias/aws/ebs")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterDependency"
    copy(ec2, source, "taken")
    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "taken")
    assert caught.value.response["Error"]["Code"] == "InvalidAMIName.Duplicate"
    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "bad-tags", TagSpecifications=[{"ResourceType": "instance", "Tags": []}])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"

    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "dry", DryRun=True)
    assert caught.value.response["Error"]["Code"] == "DryRunOperation"
    admin.add_fault("CopyImage", "throttle", times=1, resources=[source])
    with pytest.raises(ClientError) as caught:
        copy(ec2, source, "throttled")
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert ec2.describe_images(Filters=[{"Name": "name", "Values": ["dry", "throttled"]}])["Images"] == []

    broken = copy(ec2, source, "bad-key", Encrypted=True, KmsKeyId="alias/does-not-exist")
    admin.advance_clock(3600)
    image = describe(ec2, broken)
    assert image["State"] == "failed"
    assert "alias/does-not-exist" in image["StateReason"]["Message"]

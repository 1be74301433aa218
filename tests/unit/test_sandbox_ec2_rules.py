"""The sandbox's EC2 store/restore rules in-process (moto's ``mock_aws``), for the cases the AWS API
cannot set up: paravirtual, instance-store-backed and pending AMIs of one's own, a bucket deleted
while a task runs; and the object helpers (metadata limit, tags, deterministic body)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ec2.models import ec2_backends

from coldvault.sandbox import ec2_models, ec2_responses, s3_objects
from coldvault.sandbox.state import GIB, STATE

ACCOUNT = "123456789012"
BUCKET = "unit-store-bucket"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    ec2_responses.install()
    STATE.reset()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield ec2, s3
    STATE.reset()


def own_ami(ec2: Any) -> str:
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    instance_id = reservation["Instances"][0]["InstanceId"]
    return str(ec2.create_image(InstanceId=instance_id, Name=f"img-{instance_id}")["ImageId"])


def backend_image(image_id: str) -> Any:
    return ec2_backends[ACCOUNT]["us-east-1"].amis[image_id]


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("attribute", "value", "code"),
    [
        ("virtualization_type", "paravirtual", "InvalidParameterValue"),
        ("root_device_type", "instance-store", "InvalidParameterValue"),
        ("state", "pending", "InvalidAMIID.Unavailable"),
    ],
)
def test_unstorable_images_are_refused(aws: tuple[Any, Any], attribute: str, value: str, code: str) -> None:
    ec2, _ = aws
    image_id = own_ami(ec2)
    setattr(backend_image(image_id), attribute, value)
    assert code_of(ec2.create_store_image_task, ImageId=image_id, Bucket=BUCKET) == code


def test_progress_grows_with_the_virtual_clock(aws: tuple[Any, Any]) -> None:
    ec2, _ = aws
    STATE.settings.update({"store_bytes_per_second": 15 * GIB / 100})  # moto's 15 GiB AMI: 100 s
    image_id = own_ami(ec2)
    ec2.create_store_image_task(ImageId=image_id, Bucket=BUCKET)
    seen = []
    for _ in range(4):
        (task,) = ec2.describe_store_image_tasks(ImageIds=[image_id])["StoreImageTaskResults"]
        seen.append((task["StoreTaskState"], task["ProgressPercentage"]))
        STATE.clock.advance(30)
    assert [s for s, _ in seen] == ["InProgress", "InProgress", "InProgress", "InProgress"]
    percentages = [p for _, p in seen]
    assert percentages == sorted(percentages)
    assert percentages[0] <= 1
    assert 89 <= percentages[3] <= 92
    STATE.clock.advance(30)
    (task,) = ec2.describe_store_image_tasks(ImageIds=[image_id])["StoreImageTaskResults"]
    assert (task["StoreTaskState"], task["ProgressPercentage"]) == ("Completed", 100)


def test_bucket_deleted_before_completion_fails_the_task(aws: tuple[Any, Any]) -> None:
    ec2, s3 = aws
    STATE.settings.update({"store_bytes_per_second": GIB})
    image_id = own_ami(ec2)
    ec2.create_store_image_task(ImageId=image_id, Bucket=BUCKET)
    s3.delete_bucket(Bucket=BUCKET)
    STATE.clock.advance(3600)
    (task,) = ec2.describe_store_image_tasks(ImageIds=[image_id])["StoreImageTaskResults"]
    assert task["StoreTaskState"] == "Failed"
    assert BUCKET in task["StoreTaskFailureReason"]
    assert task["ProgressPercentage"] == 99


def test_object_is_written_once(aws: tuple[Any, Any]) -> None:
    ec2, s3 = aws
    image_id = own_ami(ec2)
    ec2.create_store_image_task(ImageId=image_id, Bucket=BUCKET)
    STATE.clock.advance(3600)
    ec2.describe_store_image_tasks()
    first = s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")["LastModified"]
    changed = [{"Key": "changed", "Value": "yes"}]
    s3.put_object_tagging(Bucket=BUCKET, Key=f"{image_id}.bin", Tagging={"TagSet": changed})
    ec2.describe_store_image_tasks()
    ec2_models.settle_all()
    head = s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")
    assert head["LastModified"] == first
    assert s3.get_object_tagging(Bucket=BUCKET, Key=f"{image_id}.bin")["TagSet"] == changed


def test_store_task_observe_halfway_failure() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    task = ec2_models.StoreImageTask(
        ami_id="ami-1",
        bucket="b",
        object_key="ami-1.bin",
        start_time=start,
        size_bytes=int(100 * STATE.settings.store_bytes_per_second),
        object_tags={},
        header={},
        metadata=[],
        failure_reason="broken",
    )
    assert task.observe(start + timedelta(seconds=49)) == ("InProgress", 49)
    assert task.observe(start + timedelta(seconds=50)) == ("Failed", 50)
    assert task.observe(start + timedelta(days=1)) == ("Failed", 50)


def test_metadata_fits_the_2_kb_limit_with_long_multibyte_descriptions() -> None:
    values = [
        ("ami-name", "n" * 128),
        ("ami-description", "é" * 2000),
        ("ami-registration-date", "2026-01-01T00:00:00.000Z"),
    ]
    metadata = s3_objects.fit_metadata(values, "ami-description")
    assert s3_objects.metadata_size(metadata) <= 2048
    assert metadata["x-amz-meta-ami-name"] == "n" * 128
    assert metadata["x-amz-meta-ami-description"].startswith("éé")
    assert s3_objects.metadata_size(metadata) > 2048 - 2  # truncated, not emptied
    short = s3_objects.fit_metadata([("ami-description", "short")], "ami-description")
    assert short == {"x-amz-meta-ami-description": "short"}


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ({f"k{i}": "v" for i in range(11)}, "at most 10"),
        ({"aws:backup": "x"}, "reserved"),
        ({"AWS:Thing": "x"}, "reserved"),
        ({"k" * 129: "v"}, "1-128"),
        ({"k": "v" * 257}, "0-256"),
    ],
)
def test_object_tag_rules(tags: dict[str, str], fragment: str) -> None:
    with pytest.raises(s3_objects.StoredObjectError) as caught:
        s3_objects.check_object_tags(tags)
    assert caught.value.code == "InvalidParameterValue"
    assert fragment in caught.value.message


def test_object_tag_rules_accept_ten_tags() -> None:
    s3_objects.check_object_tags({f"k{i}": "v" for i in range(10)})


def test_stored_body_is_deterministic_and_sized() -> None:
    header = {"name": "x", "block_devices": [{"device": "/dev/xvda", "size_gib": 8}]}
    body = s3_objects.stored_body("ami-0abc", header, 10_000)
    assert len(body) == 10_000
    assert body == s3_objects.stored_body("ami-0abc", header, 10_000)
    assert body != s3_objects.stored_body("ami-0abd", header, 10_000)
    assert body.startswith(s3_objects.MAGIC)
    tiny = s3_objects.stored_body("ami-0abc", header, 1)
    assert tiny.startswith(s3_objects.MAGIC)  # never shorter than its header

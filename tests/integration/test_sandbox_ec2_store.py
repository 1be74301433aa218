"""The sandbox's EC2 store image tasks, over HTTP with boto3: CreateStoreImageTask,
DescribeStoreImageTasks and the ``<ami-id>.bin`` object they leave in S3.

Time is the sandbox's virtual clock, moved with the admin API; every response is checked against
botocore's output shape."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.fleet import ec2_client, s3_with_bucket
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

GIB = 1024**3
BUCKET = "ami-store-bucket"


@pytest.fixture
def ec2(aws_env: dict[str, str]) -> Any:
    return ec2_client()


@pytest.fixture
def s3(aws_env: dict[str, str]) -> Any:
    return s3_with_bucket(BUCKET)


def make_ami(admin: SandboxAdmin, sizes_gib: list[int]) -> str:
    """An AMI owned by the account with one EBS snapshot per size (an AWS Backup recovery point)."""
    point = admin.create_recovery_point(vault_name="vault", create_vault=True, volume_sizes_gib=sizes_gib)
    arn = point["RecoveryPointArn"]
    return str(arn.rsplit("/", 1)[1])


def store(ec2: Any, image_id: str, bucket: str = BUCKET, **kwargs: Any) -> dict[str, Any]:
    response = ec2.create_store_image_task(ImageId=image_id, Bucket=bucket, **kwargs)
    assert shape_errors("ec2", "CreateStoreImageTask", response) == []
    return dict(response)


def describe(ec2: Any, **kwargs: Any) -> dict[str, Any]:
    response = ec2.describe_store_image_tasks(**kwargs)
    assert shape_errors("ec2", "DescribeStoreImageTasks", response) == []
    return dict(response)


def task_of(ec2: Any, image_id: str) -> dict[str, Any]:
    (result,) = describe(ec2, ImageIds=[image_id])["StoreImageTaskResults"]
    return dict(result)


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def test_store_task_progresses_then_leaves_a_multipart_object(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(store_bytes_per_second=GIB)  # 108 GiB -> 108 s of virtual time
    image_id = make_ami(admin, [8, 100])
    tags = [{"Key": "coldvault:stage", "Value": "staging"}, {"Key": "team", "Value": "db"}]

    assert store(ec2, image_id, S3ObjectTags=tags)["ObjectKey"] == f"{image_id}.bin"
    first = task_of(ec2, image_id)
    assert first["StoreTaskState"] == "InProgress"
    assert first["Bucket"] == BUCKET
    assert first["S3objectKey"] == f"{image_id}.bin"
    assert 0 <= first["ProgressPercentage"] < 5
    assert "StoreTaskFailureReason" not in first
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # nothing until the task completes

    admin.advance_clock(54)
    halfway = task_of(ec2, image_id)
    assert halfway["StoreTaskState"] == "InProgress"
    assert 48 <= halfway["ProgressPercentage"] <= 55
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0

    admin.advance_clock(60)
    done = task_of(ec2, image_id)
    assert done["StoreTaskState"] == "Completed"
    assert done["ProgressPercentage"] == 100
    assert done["TaskStartTime"] == first["TaskStartTime"]
    ec2.get_waiter("store_image_task_complete").wait(ImageIds=[image_id])  # succeeds at once

    head = s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")
    assert re.fullmatch(r'"[0-9a-f]{32}-1"', head["ETag"]), head["ETag"]  # a multipart upload
    assert head["ContentLength"] == round(108 * GIB * admin.settings()["size_scale"])
    meta = head["Metadata"]
    assert meta["ami-name"].startswith("AwsBackup_")
    assert meta["ami-description"] == "This AMI is created by AWS Backup"
    assert meta["ami-owner-account"] == "123456789012"
    assert set(meta) == {
        "ami-name",
        "ami-description",
        "ami-registration-date",
        "ami-owner-account",
        "ami-store-date",
    }
    assert sum(len(f"x-amz-meta-{k}".encode()) + len(v.encode()) for k, v in meta.items()) <= 2048
    tagging = s3.get_object_tagging(Bucket=BUCKET, Key=f"{image_id}.bin")["TagSet"]
    assert sorted(tagging, key=lambda t: t["Key"]) == tags


def test_object_appears_for_s3_readers_without_a_describe(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    image_id = make_ami(admin, [8])
    store(ec2, image_id)
    admin.advance_clock(3600)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"{image_id}.bin"]


def test_large_objects_have_many_parts_and_stable_content(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(size_scale=1e-4)  # 108 GiB -> 11.6 MB: two 8 MiB parts
    image_id = make_ami(admin, [8, 100])
    s3.create_bucket(Bucket="second-bucket")
    store(ec2, image_id)
    admin.advance_clock(3600)
    assert task_of(ec2, image_id)["StoreTaskState"] == "Completed"
    store(ec2, image_id, bucket="second-bucket")
    admin.advance_clock(3600)

    first = s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")
    second = s3.head_object(Bucket="second-bucket", Key=f"{image_id}.bin")
    assert first["ETag"].endswith('-2"')
    assert first["ContentLength"] == round(108 * GIB * 1e-4)
    assert first["ETag"] == second["ETag"]  # same AMI, same bytes


def test_a_queued_task_stays_at_zero_percent_then_works(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(store_bytes_per_second=GIB, store_queue_seconds=600)
    image_id = make_ami(admin, [100])  # 100 s of work after 600 s in the queue
    store(ec2, image_id)
    admin.advance_clock(590)
    assert (task_of(ec2, image_id)["StoreTaskState"], task_of(ec2, image_id)["ProgressPercentage"]) == (
        "InProgress",
        0,
    )
    admin.advance_clock(60)  # 50 s of work done
    assert 45 <= task_of(ec2, image_id)["ProgressPercentage"] <= 55
    admin.advance_clock(60)
    assert task_of(ec2, image_id)["StoreTaskState"] == "Completed"
    assert s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")["ContentLength"] > 0


def test_object_size_is_capped(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(size_scale=1.0, max_object_bytes=100_000)
    image_id = make_ami(admin, [8])
    store(ec2, image_id)
    admin.advance_clock(3600)
    assert s3.head_object(Bucket=BUCKET, Key=f"{image_id}.bin")["ContentLength"] == 100_000


def test_one_task_per_ami_at_a_time_and_one_copy_per_bucket(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(store_bytes_per_second=GIB)
    image_id = make_ami(admin, [10])
    s3.create_bucket(Bucket="other-bucket")
    store(ec2, image_id)

    busy = (
        "InvalidRequest",
        400,
        "A CreateStoreImageTask is already in progress for the AMI. "
        "You can't run multiple concurrent store image requests for the same AMI.",
    )
    assert error_of(ec2.create_store_image_task, ImageId=image_id, Bucket=BUCKET) == busy
    assert error_of(ec2.create_store_image_task, ImageId=image_id, Bucket="other-bucket") == busy

    admin.advance_clock(20)
    assert task_of(ec2, image_id)["StoreTaskState"] == "Completed"
    assert error_of(ec2.create_store_image_task, ImageId=image_id, Bucket=BUCKET) == (
        "InvalidRequest",
        400,
        "The AMI already exists in the bucket. "
        "You can't create multiple copies of an AMI in the same S3 bucket.",
    )
    # Another bucket is fine; and once the root object is gone (copied away), so is the first.
    store(ec2, image_id, bucket="other-bucket")
    s3.delete_object(Bucket=BUCKET, Key=f"{image_id}.bin")
    admin.advance_clock(20)
    store(ec2, image_id)


def test_describe_limits(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    image_id = make_ami(admin, [8])
    store(ec2, image_id)
    others = [f"ami-{i:017x}" for i in range(1, 20)]

    assert len(describe(ec2, ImageIds=[image_id, *others])["StoreImageTaskResults"]) == 1
    code, status, message = error_of(
        ec2.describe_store_image_tasks, ImageIds=[image_id, *others, "ami-00000000000000099"]
    )
    assert (code, status) == ("InvalidParameterValue", 400)
    assert "at most 20" in message
    code, _, _ = error_of(ec2.describe_store_image_tasks, ImageIds=[image_id], MaxResults=5)
    assert code == "InvalidParameterCombination"
    code, _, _ = error_of(ec2.describe_store_image_tasks, MaxResults=201)
    assert code == "InvalidParameterValue"
    code, _, _ = error_of(ec2.describe_store_image_tasks, ImageIds=["snap-0123"])
    assert code == "InvalidAMIID.Malformed"
    code, _, _ = error_of(ec2.describe_store_image_tasks, Filters=[{"Name": "state", "Values": ["x"]}])
    assert code == "InvalidParameterValue"
    code, _, _ = error_of(ec2.describe_store_image_tasks, NextToken="not-a-token")
    assert code == "InvalidPaginationToken"
    # An AMI without a task is simply absent, not an error.
    assert describe(ec2, ImageIds=["ami-0000000000000abcd"])["StoreImageTaskResults"] == []


def test_filters_apply_to_listings_and_are_ignored_with_image_ids(
    admin: SandboxAdmin, ec2: Any, s3: Any
) -> None:
    admin.update_settings(store_bytes_per_second=GIB)
    s3.create_bucket(Bucket="other-bucket")
    small, big = make_ami(admin, [1]), make_ami(admin, [100])
    store(ec2, small)
    store(ec2, big, bucket="other-bucket")
    admin.advance_clock(10)

    def amis(**kwargs: Any) -> list[str]:
        return [r["AmiId"] for r in describe(ec2, **kwargs)["StoreImageTaskResults"]]

    assert amis() == [big, small]  # newest first
    assert amis(Filters=[{"Name": "task-state", "Values": ["Completed"]}]) == [small]
    assert amis(Filters=[{"Name": "task-state", "Values": ["InProgress"]}]) == [big]
    assert amis(Filters=[{"Name": "bucket", "Values": ["other-bucket"]}]) == [big]
    assert amis(Filters=[{"Name": "bucket", "Values": ["nope"]}]) == []
    ignored = amis(ImageIds=[small, big], Filters=[{"Name": "bucket", "Values": ["nope"]}])
    assert sorted(ignored) == sorted([small, big])


def test_with_image_ids_only_the_newest_task_of_each_ami_is_listed(
    admin: SandboxAdmin, ec2: Any, s3: Any
) -> None:
    """aws/aws-sdk#601 (boto3#3850), "not a bug" per the EC2 team: with ImageIds, only the newest task of
    each AMI; a listing without ImageIds shows every task."""
    admin.update_settings(store_bytes_per_second=GIB)
    s3.create_bucket(Bucket="other-bucket")
    image_id = make_ami(admin, [1])
    store(ec2, image_id)
    admin.advance_clock(10)
    store(ec2, image_id, bucket="other-bucket")
    (newest,) = describe(ec2, ImageIds=[image_id])["StoreImageTaskResults"]
    assert (newest["Bucket"], newest["StoreTaskState"]) == ("other-bucket", "InProgress")
    listed = [(r["Bucket"], r["StoreTaskState"]) for r in describe(ec2)["StoreImageTaskResults"]]
    assert listed == [("other-bucket", "InProgress"), (BUCKET, "Completed")]


def test_pagination(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    images = [make_ami(admin, [1]) for _ in range(5)]
    for image_id in images:
        store(ec2, image_id)

    first = describe(ec2, MaxResults=2)
    assert len(first["StoreImageTaskResults"]) == 2
    second = describe(ec2, MaxResults=2, NextToken=first["NextToken"])
    third = describe(ec2, MaxResults=2, NextToken=second["NextToken"])
    assert len(third["StoreImageTaskResults"]) == 1
    assert "NextToken" not in third
    seen = [r["AmiId"] for page in (first, second, third) for r in page["StoreImageTaskResults"]]
    assert sorted(seen) == sorted(images)

    pages = ec2.get_paginator("describe_store_image_tasks").paginate(PaginationConfig={"PageSize": 3})
    assert sorted(r["AmiId"] for page in pages for r in page["StoreImageTaskResults"]) == sorted(images)


def test_only_tasks_of_the_last_31_days_are_described(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    old, recent = make_ami(admin, [1]), make_ami(admin, [1])
    store(ec2, old)
    admin.advance_clock(20 * 86400)
    store(ec2, recent)
    admin.advance_clock(11 * 86400 + 60)

    assert [r["AmiId"] for r in describe(ec2)["StoreImageTaskResults"]] == [recent]
    assert describe(ec2, ImageIds=[old])["StoreImageTaskResults"] == []
    # The object the old task wrote stays, of course.
    s3.head_object(Bucket=BUCKET, Key=f"{old}.bin")


def test_store_quota_refuses_while_bytes_in_progress_are_at_the_limit(
    admin: SandboxAdmin, ec2: Any, s3: Any
) -> None:
    admin.update_settings(store_bytes_per_second=GIB, store_quota_bytes=100 * GIB)
    big, other = make_ami(admin, [150]), make_ami(admin, [8])
    store(ec2, big)  # bigger than the quota, but nothing else runs: accepted

    code, status, message = error_of(ec2.create_store_image_task, ImageId=other, Bucket=BUCKET)
    assert (code, status) == ("ResourceLimitExceeded", 400)
    assert "in progress" in message

    admin.advance_clock(151)
    assert task_of(ec2, big)["StoreTaskState"] == "Completed"
    store(ec2, other)


def test_injected_store_failure(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    admin.update_settings(store_bytes_per_second=GIB)
    failing, fine = make_ami(admin, [10]), make_ami(admin, [10])
    admin.add_fault(
        "StoreTask", "fail", resources=[failing], times=1, reason="Snapshot data could not be read."
    )
    store(ec2, failing)
    store(ec2, fine)

    admin.advance_clock(2)
    assert task_of(ec2, failing)["StoreTaskState"] == "InProgress"
    admin.advance_clock(20)
    failed = task_of(ec2, failing)
    assert failed["StoreTaskState"] == "Failed"
    assert failed["StoreTaskFailureReason"] == "Snapshot data could not be read."
    assert task_of(ec2, fine)["StoreTaskState"] == "Completed"
    with pytest.raises(WaiterError, match="Failed"):
        ec2.get_waiter("store_image_task_complete").wait(ImageIds=[failing, fine])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"{fine}.bin"]
    # A failed task does not block a new one.
    store(ec2, failing)
    admin.advance_clock(20)
    assert task_of(ec2, failing)["StoreTaskState"] == "Completed"


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttle", "RequestLimitExceeded", 503),
        ("access_denied", "UnauthorizedOperation", 403),
        ("quota", "ResourceLimitExceeded", 400),
    ],
)
def test_injected_call_faults(
    admin: SandboxAdmin, ec2: Any, s3: Any, kind: str, code: str, status: int
) -> None:
    image_id = make_ami(admin, [8])
    admin.add_fault("CreateStoreImageTask", kind, times=1)
    assert error_of(ec2.create_store_image_task, ImageId=image_id, Bucket=BUCKET)[:2] == (code, status)
    store(ec2, image_id)  # the fault fired once


def test_refusals(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    image_id = make_ami(admin, [8])

    def refused(**kwargs: Any) -> str:
        return error_of(ec2.create_store_image_task, **({"ImageId": image_id, "Bucket": BUCKET} | kwargs))[0]

    assert refused(ImageId="ami-0000000000000dead") == "InvalidAMIID.NotFound"
    assert refused(ImageId="i-0123") == "InvalidAMIID.Malformed"
    assert refused(Bucket="no-such-bucket") == "InvalidParameterValue"
    eleven = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    assert refused(S3ObjectTags=eleven) == "InvalidParameterValue"
    assert refused(S3ObjectTags=[{"Key": "aws:backup", "Value": "x"}]) == "InvalidParameterValue"
    assert error_of(ec2.create_store_image_task, ImageId=image_id, Bucket=BUCKET, DryRun=True)[:2] == (
        "DryRunOperation",
        412,
    )
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="bucket-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert refused(Bucket="bucket-in-ireland") == "InvalidParameterValue"
    amazon_owned = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    assert refused(ImageId=amazon_owned) == "AuthFailure"
    assert describe(ec2)["StoreImageTaskResults"] == []  # nothing was started


def test_describe_faults_and_dry_run(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    image_id = make_ami(admin, [8])
    store(ec2, image_id)
    assert error_of(ec2.describe_store_image_tasks, DryRun=True)[:2] == ("DryRunOperation", 412)
    admin.add_fault("DescribeStoreImageTasks", "throttle", times=1, resources=[image_id])
    assert describe(ec2)["StoreImageTaskResults"]  # the fault is for calls naming that AMI
    assert error_of(ec2.describe_store_image_tasks, ImageIds=[image_id])[0] == "RequestLimitExceeded"
    assert describe(ec2, ImageIds=[image_id])["StoreImageTaskResults"][0]["AmiId"] == image_id


def test_errors_are_ec2_xml(admin: SandboxAdmin, aws_env: dict[str, str]) -> None:
    """The raw answer, as any SDK sees it: EC2's ``<Response><Errors><Error>`` document."""
    body = urllib.parse.urlencode(
        {
            "Action": "CreateStoreImageTask",
            "Version": "2016-11-15",
            "ImageId": "ami-0000000000000dead",
            "Bucket": BUCKET,
        }
    ).encode()
    request = urllib.request.Request(
        aws_env["AWS_ENDPOINT_URL"] + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    document = ElementTree.fromstring(caught.value.read())
    for element in document.iter():  # moto adds EC2's XML namespace; AWS's error documents have none
        element.tag = element.tag.rpartition("}")[2]
    assert document.tag == "Response"
    assert document.findtext("Errors/Error/Code") == "InvalidAMIID.NotFound"
    assert "ami-0000000000000dead" in (document.findtext("Errors/Error/Message") or "")
    assert document.findtext("RequestID")


def test_reset_forgets_tasks(admin: SandboxAdmin, ec2: Any, s3: Any) -> None:
    image_id = make_ami(admin, [8])
    store(ec2, image_id)
    admin.reset()
    assert describe(ec2)["StoreImageTaskResults"] == []

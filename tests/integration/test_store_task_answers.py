"""coldvault against EC2's real answers, in the sandbox: ``InvalidRequest`` for a store of the AMI already
running (wait and retry, as for the quota) and for an AMI already in the bucket (the object is the
result), and a poll that never takes another bucket's newer task (DescribeStoreImageTasks lists only
an AMI's newest task) for its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from coldvault.aws.ec2 import Ec2
from coldvault.aws.session import AwsSession
from coldvault.config import Settings
from coldvault.errors import StoreQuotaExceeded
from coldvault.models import Outcome, PointWork, RecoveryPoint, Stage
from coldvault.pipeline import check_stores
from coldvault.pipeline.services import services_from_session
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_sandbox_ec2_store import BUCKET, GIB, make_ami
from tests.support.fleet import ec2_client, s3_with_bucket

pytestmark = pytest.mark.integration

OTHER = "someone-elses-bucket"


def _adapter() -> Ec2:
    return Ec2(ec2_client())


def test_a_store_of_the_ami_running_elsewhere_is_waited_out_like_the_quota(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    s3_with_bucket(BUCKET).create_bucket(Bucket=OTHER)
    admin.update_settings(store_bytes_per_second=GIB)
    ami = make_ami(admin, [10])
    ec2 = _adapter()
    ec2.create_store_image_task(ami, OTHER, {})
    with pytest.raises(StoreQuotaExceeded) as caught:
        ec2.create_store_image_task(ami, BUCKET, {})
    assert caught.value.code == "InvalidRequest"
    assert "already in progress for the AMI" in str(caught.value)
    admin.advance_clock(20)
    assert ec2.create_store_image_task(ami, BUCKET, {}) == f"{ami}.bin"


def test_an_ami_already_in_the_bucket_is_its_stored_object(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    s3 = s3_with_bucket(BUCKET)
    ami = make_ami(admin, [1])
    ec2 = _adapter()
    assert ec2.create_store_image_task(ami, BUCKET, {}) == f"{ami}.bin"
    admin.advance_clock(10)
    assert ec2.create_store_image_task(ami, BUCKET, {}) == f"{ami}.bin"  # InvalidRequest, the object is there
    assert s3.head_object(Bucket=BUCKET, Key=f"{ami}.bin")["ContentLength"] > 0
    assert [t.state for t in ec2.store_tasks_in_state("Completed")] == ["Completed"]  # no second task


def test_a_newer_failed_task_into_another_bucket_does_not_fail_our_completed_store(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    s3_with_bucket(BUCKET).create_bucket(Bucket=OTHER)
    ami = make_ami(admin, [1])
    ec2 = _adapter()
    ec2.create_store_image_task(ami, BUCKET, {})
    admin.advance_clock(10)  # ours completed: <ami>.bin is in BUCKET
    admin.add_fault("StoreTask", "fail", resources=[ami], reason="someone else's store failed")
    ec2.create_store_image_task(ami, OTHER, {})
    admin.advance_clock(10)
    newest = ec2.describe_store_tasks([ami])[ami]
    assert (newest.bucket, newest.state) == (OTHER, "Failed")

    now = datetime.now(UTC)
    point = RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/{ami}",
        vault_name="vault",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=now - timedelta(days=100),
    )
    work = PointWork(point=point, archive_key="k", manifest_key="m", stage=Stage.STORING)
    work = replace(work, store_started_at=(now - timedelta(seconds=30)).isoformat())
    settings = Settings(vault="vault", bucket=BUCKET, cutoff=now, run_id="r")
    svc = services_from_session(AwsSession(region="us-east-1"))
    (result,) = check_stores(svc, settings, [work])
    assert (result.stage, result.outcome) == (Stage.STORED, work.outcome)
    assert result.outcome is not Outcome.FAILED
    assert result.staging_size > 0

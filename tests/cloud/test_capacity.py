"""MaxInProgressGB in the deployment: the start-store handler starts a store task only while the
account's store work in progress is under the limit (EC2's own rule, with coldvault's limit), and the
state machine waits the refusal out for the quota-wait deadline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from coldvault.aws.ec2 import Ec2
from coldvault.cloud import handlers
from coldvault.cloud.runtime import CONFIG_PATH_ENV, function_environment
from coldvault.config import Settings
from coldvault.errors import StoreQuotaExceeded
from coldvault.pipeline.capacity import in_progress_store_bytes
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import make_bucket

pytestmark = [pytest.mark.cloud, pytest.mark.integration]

CONFIG = "/coldvault/capacity"
VAULT = "capacity-vault"
BUCKET = "capacity-archive"
STORE_RATE = 1e8  # sandbox bytes per second of virtual time: an 8 GiB AMI stores in ~86 s


@pytest.fixture
def function_env(aws_env: dict[str, str], admin: SandboxAdmin) -> Iterator[dict[str, str]]:
    """Two candidate points, a 1 GB MaxInProgressGB in SSM, and the handlers' environment."""
    admin.update_settings(store_bytes_per_second=STORE_RATE)
    admin.seed(vault_name=VAULT, instances=1, daily_days=0, monthly_months=2, seed=5, ebs_point=False)
    make_bucket(BUCKET)
    ssm = boto3.client("ssm")
    params = (("vault", VAULT), ("bucket", BUCKET), ("older-than-days", "20"), ("max-in-progress-gb", "1"))
    for key, value in params:
        ssm.put_parameter(Name=f"{CONFIG}/{key}", Value=value, Type="String")
    env = {**aws_env, CONFIG_PATH_ENV: CONFIG, "AWS_LAMBDA_FUNCTION_NAME": "test"}
    with function_environment(env):
        yield env


def _tasks() -> dict[str, str]:
    results = boto3.client("ec2").describe_store_image_tasks().get("StoreImageTaskResults", [])
    return {t["AmiId"]: t["StoreTaskState"] for t in results}


def test_a_store_waits_while_the_bytes_in_progress_are_at_the_limit(
    function_env: dict[str, str], admin: SandboxAdmin
) -> None:
    listed = handlers.list_candidates({"execution": "arn:execution:cap"}, None)
    assert len(listed["items"]) >= 2
    first, second = listed["items"][:2]

    def start(ami: str) -> dict[str, Any]:
        return handlers.start_store({"run": listed["run"], "ami_id": ami, "execution": "cap"}, None)

    assert start(first)["work"]["stage"] == "storing"  # nothing in progress: starts, whatever its size
    size = in_progress_store_bytes(Ec2(boto3.client("ec2")))[first]
    assert size > 10**9  # over the 1 GB limit on its own

    with pytest.raises(StoreQuotaExceeded, match="at or over the 1 GB limit"):
        start(second)
    assert second not in _tasks(), "no store task was created over the limit"
    # The point whose task is already running is reused as before, limit or not.
    assert start(first)["work"]["stage"] == "storing"

    admin.advance_clock(size / STORE_RATE + 1)  # the running task completes
    assert _tasks()[first] == "Completed"
    assert start(second)["work"]["stage"] == "storing"  # the retry (same run) now starts it
    assert _tasks()[second] == "InProgress"


def test_the_in_progress_bytes_cost_two_calls_per_start(
    function_env: dict[str, str], admin: SandboxAdmin
) -> None:
    """The figure docs/cloud.md gives: one DescribeStoreImageTasks (with the ``task-state`` filter)
    and, when any task is running, one DescribeImages for their sizes."""
    client = boto3.client("ec2")
    calls: list[str] = []
    client.meta.events.register("before-call.ec2.*", lambda model, **_: calls.append(model.name))
    ec2 = Ec2(client)
    assert in_progress_store_bytes(ec2) == {}
    assert calls == ["DescribeStoreImageTasks"]

    listed = handlers.list_candidates({"execution": "arn:execution:calls"}, None)
    ami = listed["items"][0]
    handlers.start_store({"run": listed["run"], "ami_id": ami, "execution": "calls"}, None)
    image = client.describe_images(ImageIds=[ami])["Images"][0]
    gib = sum(m["Ebs"]["VolumeSize"] for m in image["BlockDeviceMappings"] if "Ebs" in m)
    calls.clear()
    assert in_progress_store_bytes(ec2) == {ami: gib * 1024**3}
    assert calls == ["DescribeStoreImageTasks", "DescribeImages"]


def test_the_store_quota_is_waited_out_for_the_quota_wait_deadline(asl: dict[str, Any]) -> None:
    """StartStore's Retry on StoreQuotaExceeded lasts as long as the CLI waits out the quota (12 h),
    without jitter, so the wait is a deadline, in few enough attempts for the history limit."""
    states = asl["States"]["ArchiveEach"]["ItemProcessor"]["States"]
    (quota,) = [r for r in states["StartStore"]["Retry"] if r["ErrorEquals"] == ["StoreQuotaExceeded"]]
    assert quota.get("JitterStrategy", "NONE") == "NONE"
    delays = [
        min(quota["IntervalSeconds"] * quota["BackoffRate"] ** i, quota["MaxDelaySeconds"])
        for i in range(quota["MaxAttempts"])
    ]
    deadline = Settings.__dataclass_fields__["quota_wait_deadline_seconds"].default
    assert isinstance(deadline, int | float)
    assert deadline <= sum(delays) < deadline + quota["MaxDelaySeconds"]
    # 3 history events per attempt: 250 points (ItemsPerExecution's maximum) all waiting the quota
    # out stay far enough under an execution's 25,000 events for their own ~45 each.
    assert 250 * (3 * quota["MaxAttempts"] + 45) < 25_000


@pytest.mark.slow
def test_a_deployed_run_waits_for_room_under_max_in_progress_gb(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    """Deployed with MaxInProgressGB=1 while another store task (not the run's) holds the room: the
    state machine's StartStore is refused with StoreQuotaExceeded, retried, and the points start and
    are archived once that task has finished."""
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    admin.seed(vault_name="roomy", instances=1, daily_days=0, monthly_months=2, seed=5, ebs_point=False)
    admin.seed(vault_name="other", instances=1, daily_days=0, monthly_months=1, seed=3, ebs_point=False)
    backup = boto3.client("backup")
    other = next(
        str(p["RecoveryPointArn"]).rsplit("/", 1)[1]
        for p in backup.list_recovery_points_by_backup_vault(BackupVaultName="other")["RecoveryPoints"]
        if p["ResourceType"] == "EC2" and p["Status"] == "COMPLETED"
    )
    image = boto3.client("ec2").describe_images(ImageIds=[other])["Images"][0]
    other_bytes = sum(m["Ebs"]["VolumeSize"] for m in image["BlockDeviceMappings"] if "Ebs" in m) * 1024**3
    # The other task runs 100 s of sandbox time: past StartStore's first retry (60 s), not its second.
    admin.update_settings(store_bytes_per_second=other_bytes / 100)
    boto3.client("s3").create_bucket(Bucket="other-bucket")
    boto3.client("ec2").create_store_image_task(ImageId=other, Bucket="other-bucket")

    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": "roomy-archive",
        "BackupVaultName": "roomy",
        "DaysRecoveryPointsCreatedBefore": "20",
        "MaxInProgressGB": "1",
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "roomy", overrides, None), SystemClock())
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "roomy"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "SUCCEEDED"
    assert outcome.counts.get("archived", 0) >= 2
    assert "failed" not in outcome.counts
    events = boto3.client("stepfunctions").get_execution_history(executionArn=outcome.executions[0])["events"]
    refused = [
        e["taskFailedEventDetails"]["cause"]
        for e in events
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "StoreQuotaExceeded"
    ]
    assert refused, "the run was held back while the other task held the room"
    assert all("at or over the 1 GB limit" in cause for cause in refused)

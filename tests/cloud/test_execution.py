"""The deployed stack, run in the sandbox's Step Functions engine with the real handler code, leaves the
same end state as ``coldvault archive`` on an identical fleet: archives and their classes, deleted
recovery points, the report, the SQS status messages, a failed point kept and notified."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from coldvault.cli.app import main
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import make_bucket

pytestmark = [pytest.mark.cloud, pytest.mark.integration, pytest.mark.slow]

OLDER_THAN_DAYS = 20
FLEET = {"instances": 3, "daily_days": 2, "monthly_months": 2, "seed": 7}
_IDS = re.compile(r"(ami|i|snap)-[0-9a-f]+")


def _main(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _points(vault: str) -> list[dict[str, Any]]:
    backup = boto3.client("backup")
    points: list[dict[str, Any]] = []
    for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault):
        points.extend(page["RecoveryPoints"])
    return points


def _point_to_fail(vault: str) -> str:
    """The same point in both fleets: the largest candidate (sizes come from the same seed)."""
    cutoff = datetime.now(UTC) - timedelta(days=OLDER_THAN_DAYS)
    candidates = [p for p in _points(vault) if p["ResourceType"] == "EC2" and p["CreationDate"] < cutoff]
    candidates = [p for p in candidates if p["Status"] in ("COMPLETED", "AVAILABLE")]
    largest = max(candidates, key=lambda p: (p["BackupSizeInBytes"], p["CreationDate"]))
    return str(largest["RecoveryPointArn"]).rsplit("/", 1)[1]


def _normal(text: str) -> str:
    return _IDS.sub(lambda m: f"{m.group(1)}-X", text)


def _report(bucket: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="logs/").get("Contents", [])]
    (key,) = [k for k in keys if k.endswith(".json")]
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def _report_items(report: dict[str, Any]) -> list[tuple[str, ...]]:
    return sorted(
        (
            str(i["outcome"]),
            str(i.get("backup_size_bytes")),
            str(i.get("storage_class", "")),
            _normal(str(i.get("archive_key", ""))),
            str(i.get("skip_reason", "")),
            _normal(str(i.get("error", ""))),
        )
        for i in report["items"]
    )


def _bucket_state(bucket: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        "archives": sorted(
            (o["StorageClass"], o["Size"]) for o in objects if o["Key"].startswith("recovery-points/")
        ),
        "manifests": sum(1 for o in objects if o["Key"].startswith("catalog/ami/")),
        "staging": [o["Key"] for o in objects if "/" not in o["Key"]],
        "leases": [o["Key"] for o in objects if o["Key"].startswith("leases/")],
        "uploads": s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []),
    }


def _messages(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_deployed_state_machine_matches_the_cli(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.seed(vault_name="cli-vault", **FLEET)
    admin.seed(vault_name="cloud-vault", **FLEET)
    failing = {v: _point_to_fail(v) for v in ("cli-vault", "cloud-vault")}
    for ami in failing.values():
        admin.add_fault("StoreTask", "fail", resources=[ami], reason="injected: snapshot unreadable")

    # -- the CLI engine
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    make_bucket("cli-archive")
    cli_queue = sqs.create_queue(QueueName="cli-status")["QueueUrl"]
    cli_args = [
        "archive",
        "--vault",
        "cli-vault",
        "--bucket",
        "cli-archive",
        "--older-than",
        str(OLDER_THAN_DAYS),
    ]
    assert _main([*cli_args, "--queue-url", cli_queue, "--poll-min-seconds", "1", "--yes"]) == 1

    # -- the deployed engine: package, upload, create the stack, run it (two executions of 4 + 2 points)
    code = _main(
        [
            "deploy",
            "--stack-name",
            "vault-archive",
            "--parameter-overrides",
            "ArchivalBucketName=cloud-archive",
            "BackupVaultName=cloud-vault",
            f"DaysRecoveryPointsCreatedBefore={OLDER_THAN_DAYS}",
            "ItemsPerExecution=4",
            "--yes",
        ]
    )
    assert code == 0, capsys.readouterr()
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in boto3.client("cloudformation").describe_stacks(StackName="vault-archive")["Stacks"][0][
            "Outputs"
        ]
    }
    # Two functions run from the uploaded zip in a clean interpreter (the others in process: same code).
    lam = boto3.client("lambda")
    for function in lam.list_functions()["Functions"]:
        if function["Handler"].rsplit(".", 1)[1] in ("start_store", "write_report"):
            env = function["Environment"]["Variables"]
            lam.update_function_configuration(
                FunctionName=function["FunctionName"],
                Environment={"Variables": {**env, "COLDVAULT_LAMBDA_SUBPROCESS": "1"}},
            )
    notified = sqs.create_queue(QueueName="notified")["QueueUrl"]
    notified_arn = sqs.get_queue_attributes(QueueUrl=notified, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=notified_arn)
    capsys.readouterr()
    assert _main(["run", "--stack-name", "vault-archive", "--wait"]) == 1  # one point failed
    shown = capsys.readouterr().out
    assert "archived" in shown
    assert "injected: snapshot unreadable" in shown

    # -- same end state
    cli_report, cloud_report = _report("cli-archive"), _report("cloud-archive")
    assert _report_items(cloud_report) == _report_items(cli_report)
    outcomes = Counter(i["outcome"] for i in cloud_report["items"])
    assert outcomes["archived"] == 5
    assert outcomes["failed"] == 1
    assert outcomes["skipped"] >= 1
    cli_state, cloud_state = _bucket_state("cli-archive"), _bucket_state("cloud-archive")
    assert cloud_state == cli_state
    assert len(cloud_state["archives"]) == 5
    assert {c for c, _ in cloud_state["archives"]} == {"GLACIER_IR"}
    assert cloud_state["staging"] == []
    assert cloud_state["leases"] == []

    remaining = {v: _points(v) for v in ("cli-vault", "cloud-vault")}
    assert sorted(p["Status"] for p in remaining["cloud-vault"]) == sorted(
        p["Status"] for p in remaining["cli-vault"]
    )
    for vault, ami in failing.items():  # the failed point is kept in both
        assert any(p["RecoveryPointArn"].endswith(ami) for p in remaining[vault])

    cli_messages, cloud_messages = _messages(cli_queue), _messages(outputs["StatusQueueUrl"])
    assert Counter(m["outcome"] for m in cloud_messages) == Counter(m["outcome"] for m in cli_messages)
    assert len(cloud_messages) == 6

    (notification,) = _messages(notified)
    assert failing["cloud-vault"] in notification["Message"]
    assert "failed" in notification["Subject"]

    history = boto3.client("stepfunctions").list_executions(stateMachineArn=outputs["StateMachineArn"])
    assert len(history["executions"]) == 2  # 6 points at 4 per execution
    assert {e["status"] for e in history["executions"]} == {"SUCCEEDED"}


def test_two_overlapping_runs_never_process_a_point_twice(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    """The schedule and an operator at once: each point is archived by exactly one run, the other run
    reports it leased (or already archived), and both reports are complete."""
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    admin.seed(vault_name="busy", instances=2, daily_days=1, monthly_months=2, seed=3)
    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": "busy-archive",
        "BackupVaultName": "busy",
        "DaysRecoveryPointsCreatedBefore": str(OLDER_THAN_DAYS),
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "busy", overrides, None), SystemClock())
    first, second = deploy.start_run(aws, "busy"), deploy.start_run(aws, "busy")
    outcomes = [
        deploy.follow_run(aws, h, SystemClock(), seconds=300, poll_seconds=0.2) for h in (first, second)
    ]
    assert [o.status for o in outcomes] == ["SUCCEEDED", "SUCCEEDED"]
    by_point: dict[str, list[str]] = {}
    for outcome in outcomes:
        assert outcome.report is not None
        for item in outcome.report["items"]:
            if item["outcome"] != "skipped" or "already archived" in str(item.get("skip_reason")):
                by_point.setdefault(item["ami_id"], []).append(
                    item["outcome"] + ":" + str(item.get("skip_reason", ""))
                )
    assert len(by_point) == 4
    for ami, seen in by_point.items():
        archived = [s for s in seen if s.startswith("archived")]
        assert len(archived) == 1, (ami, seen)
        assert all(s.startswith(("archived", "leased", "skipped")) for s in seen), (ami, seen)
    objects = boto3.client("s3").list_objects_v2(Bucket="busy-archive", Prefix="recovery-points/")["Contents"]
    assert len(objects) == 4


def test_the_store_quota_is_waited_out_and_throttling_retried(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    """EC2 refuses the store twice (quota), then S3 throttles once: the Retry clauses carry the point
    through, at the sandbox's time scale, and it is archived."""
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    admin.seed(vault_name="tight", instances=1, daily_days=0, monthly_months=1, seed=11)
    (point,) = [p for p in _points("tight") if p["ResourceType"] == "EC2" and p["Status"] == "COMPLETED"]
    ami = point["RecoveryPointArn"].rsplit("/", 1)[1]
    admin.add_fault("CreateStoreImageTask", "quota", resources=[ami], times=2)
    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": "tight-archive",
        "BackupVaultName": "tight",
        "DaysRecoveryPointsCreatedBefore": "20",
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "tight", overrides, None), SystemClock())
    started = SystemClock().monotonic()
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "tight"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "SUCCEEDED"
    assert outcome.counts["archived"] == 1
    assert "failed" not in outcome.counts
    assert SystemClock().monotonic() - started < 120  # 60 s + 120 s of Retry intervals, scaled
    events = boto3.client("stepfunctions").get_execution_history(executionArn=outcome.executions[0])["events"]
    refused = [
        e
        for e in events
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "StoreQuotaExceeded"
    ]
    assert len(refused) == 2


def test_a_large_copy_continues_across_invocations(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    """A multipart copy that outlives one invocation comes back ``copying`` and the state machine calls
    CopyArchive again until it is done: the copy is never bound by one Lambda's time.

    The copy function's context says 1 ms is left, so each invocation copies its one part (every call
    makes progress whatever its time) and the invocation after the last part completes the upload."""
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy
    from coldvault.sandbox.lambda_runner import CONTEXT_SECONDS_ENV

    # the stored object is capped at 12 MiB: 3 parts of 5 MiB, one per invocation
    admin.update_settings(size_scale=1e-3, max_object_bytes=12 * 1024 * 1024)
    admin.seed(vault_name="big", instances=1, daily_days=0, monthly_months=1, seed=2, ebs_point=False)
    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": "big-archive",
        "BackupVaultName": "big",
        "DaysRecoveryPointsCreatedBefore": "20",
    }
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "big", overrides, None), SystemClock())
    ssm = boto3.client("ssm")
    for key, value in (("copy-threshold-mb", "5"), ("part-size-mb", "5"), ("copy-concurrency", "1")):
        ssm.put_parameter(Name=f"/coldvault/big/{key}", Value=value, Type="String")
    lam = boto3.client("lambda")
    for function in lam.list_functions()["Functions"]:
        if function["Handler"].endswith(".copy_archive"):
            env = function["Environment"]["Variables"]
            lam.update_function_configuration(
                FunctionName=function["FunctionName"],
                Environment={"Variables": {**env, CONTEXT_SECONDS_ENV: "0.001"}},
            )
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "big"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "SUCCEEDED"
    assert outcome.counts == {"archived": 1}
    events = boto3.client("stepfunctions").get_execution_history(executionArn=outcome.executions[0])["events"]
    copies = [
        e
        for e in events
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "CopyArchive"
    ]
    assert len(copies) == 4  # one per part, then Complete with all of its time
    s3 = boto3.client("s3")
    (archive,) = s3.list_objects_v2(Bucket="big-archive", Prefix="recovery-points/")["Contents"]
    assert archive["Size"] == 12 * 1024 * 1024
    assert s3.list_multipart_uploads(Bucket="big-archive").get("Uploads", []) == []

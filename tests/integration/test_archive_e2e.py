"""End to end on the sandbox over HTTP: plan, archive, rerun; keys, classes, metadata, tags, reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from coldvault import keys
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    VAULT,
    archivable_fleet,
    archive_args,
    assert_invariants,
    fleet,
    make_bucket,
    manifests,
    objects,
    points,
    read_json,
    run_inprocess,
    run_subprocess,
    store_task_counts,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def test_plan_is_read_only_and_explains_skips(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet(admin)
    make_bucket()
    before = points()
    assert (
        run_inprocess(["--output", "json", "plan", "--vault", VAULT, "--bucket", BUCKET, "--older-than", "2"])
        == 0
    )
    plan = json.loads(capsys.readouterr().out)
    reasons = {s["reason"] for s in plan["skipped"]}
    assert "not an EC2 recovery point" in reasons
    assert "state is not COMPLETED or AVAILABLE" in reasons
    cutoff = datetime.fromisoformat(plan["cutoff"])
    assert plan["candidates"]
    for c in plan["candidates"]:
        assert datetime.fromisoformat(c["created"]) < cutoff
    assert plan["too_recent"] >= 2  # the one-day-old point of each instance
    assert plan["estimate"]["prices_date"]
    assert objects() == {}
    assert points() == before
    assert store_task_counts() == {}


def test_archive_then_rerun_changes_nothing(admin: SandboxAdmin) -> None:
    fleet(admin)
    make_bucket()
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="coldvault-status")["QueueUrl"]
    before = points()
    cutoff = datetime.fromisoformat(admin.clock()["now"]) - timedelta(days=2)
    old = {arn: p for arn, p in before.items() if p["ResourceType"] == "EC2" and p["Status"] == "COMPLETED"}
    old = {a: p for a, p in old.items() if p["CreationDate"] < cutoff}
    young = {a for a, p in before.items() if p["CreationDate"] > cutoff + timedelta(minutes=5)}

    code = run_inprocess(archive_args("--queue-url", queue, "--storage-class", "DEEP_ARCHIVE"))

    assert code == 0
    after = points()
    assert not set(old) & set(after), "old points must be gone"
    assert young <= set(after), "younger points stay"
    s3 = boto3.client("s3")
    found = manifests()
    assert set(found) == {a.rsplit("/", 1)[-1] for a in old}
    for arn, p in old.items():
        ami = arn.rsplit("/", 1)[-1]
        created = p["CreationDate"].astimezone(UTC)
        account = p["ResourceArn"].split(":")[4]
        instance = p["ResourceArn"].rsplit("/", 1)[-1]
        key = f"recovery-points/{account}/us-east-1/{instance}/{created:%Y/%m/%d}/{ami}.bin"
        head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert head["StorageClass"] == "DEEP_ARCHIVE"
        assert head["Metadata"]["coldvault-source-arn"] == arn
        assert head["Metadata"]["coldvault-vault"] == VAULT
        assert "ami-name" in head["Metadata"]  # what EC2 wrote is kept
        assert sum(len(k) + len(v) for k, v in head["Metadata"].items()) <= 2048
        assert head["ChecksumCRC64NVME"]
        assert 1 <= head["TagCount"] <= 10
        doc = found[ami]
        assert doc["archive"]["key"] == key
        assert doc["deletion"]["state"] == "confirmed"
        assert doc["archive"]["checksum_crc64nvme"] == head["ChecksumCRC64NVME"]
        assert read_json(keys.recovery_point_pointer_key(arn))["manifest_key"] == keys.manifest_key(ami)
        assert read_json(keys.archive_pointer_key(key))["manifest_key"] == keys.manifest_key(ami)
    assert_invariants()
    reports = list(objects(prefix="logs/"))
    assert len(reports) == 2
    assert {k.rsplit(".", 1)[-1] for k in reports} == {"json", "csv"}
    report = read_json(next(k for k in reports if k.endswith(".json")))
    assert report["totals"]["archived"] == len(old)
    assert report["exit_code"] == 0
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        messages += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch],
        )
    assert sorted(m["ami_id"] for m in messages) == sorted(a.rsplit("/", 1)[-1] for a in old)
    assert {m["run_id"] for m in messages} == {report["run_id"]}
    assert {m["outcome"] for m in messages} == {"archived"}

    snapshot = objects()
    tasks = store_task_counts()
    assert run_inprocess(archive_args("--queue-url", queue, "--storage-class", "DEEP_ARCHIVE")) == 0
    assert objects() == snapshot
    assert store_task_counts() == tasks
    assert points() == after


def test_multipart_copy_with_verify_content(admin: SandboxAdmin) -> None:
    fleet(admin, instances=1, daily_days=0, monthly_months=1, unusable=False, ebs_point=False)
    admin.update_settings(size_scale=2e-3)  # an 8 GiB AMI becomes a ~17 MB object
    make_bucket()
    code = run_inprocess(
        archive_args(
            "--copy-threshold-mb",
            "1",
            "--part-size-mb",
            "5",
            "--verify-content",
            "--storage-class",
            "GLACIER",
        )
    )
    assert code == 0
    (doc,) = manifests().values()
    assert doc["archive"]["size"] > 10 * 1024 * 1024
    assert doc["archive"]["checksum_type"] == "FULL_OBJECT"
    assert doc["archive"]["storage_class"] == "GLACIER"
    assert doc["verification"]["content_checked"] is True
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=doc["archive"]["key"])
    assert int(head["ETag"].strip('"').rsplit("-", 1)[1]) >= 3  # a multipart object of several parts
    assert head["TagCount"] >= 5  # tags put explicitly on the multipart copy
    assert_invariants()


def test_cli_subprocess_json_output(admin: SandboxAdmin) -> None:
    archivable_fleet(admin)
    result = run_subprocess(["--output", "json", *archive_args()])
    assert result.returncode == 0, result.stderr
    (summary,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]  # data only
    progress = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "point" and e.get("step") and e.get("size_bytes") for e in progress)
    assert progress[-1]["event"] == "run"
    assert progress[-1]["done"] == progress[-1]["points"] == 1
    assert summary["event"] == "summary"
    assert summary["totals"]["archived"] == 1
    assert summary["report_keys"]["json"].startswith("logs/")


def test_quiet_prints_one_final_line(admin: SandboxAdmin) -> None:
    archivable_fleet(admin)
    result = run_subprocess(["--quiet", *archive_args()])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "archived 1" in lines[0]
    assert "logs/" in lines[0]

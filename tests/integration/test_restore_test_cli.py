"""`coldvault restore-test` on the sandbox: restores through the restore engine, checks the AMI against
the manifest, records evidence the audit reads, and leaves no AMI or snapshot behind."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from coldvault import keys, restore_evidence, restore_test
from coldvault.aws.s3 import S3
from coldvault.catalog import Catalog
from coldvault.restore.policy import RestoreOptions
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    make_bucket,
    restore_services,
    run_cli,
    seeded_point,
)

pytestmark = pytest.mark.integration
BUCKET = "archive-restore-test"


@pytest.fixture
def fast_images(admin: SandboxAdmin) -> None:
    """Restored AMIs available at once: the CLI waits on the real clock."""
    admin.update_settings(restore_bytes_per_second=1e15, image_available_after_seconds=0)


def _archive(admin: SandboxAdmin, name: str, storage_class: str = "GLACIER_IR") -> str:
    point = seeded_point(
        admin, tags={"Name": name, "team": "ops"}, volumes=[("/dev/xvda", 8, False), ("/dev/sdf", 4, False)]
    )
    ami, _ = archive_point(admin, BUCKET, storage_class, point["RecoveryPointArn"])
    return ami


def _restored(ec2: Any) -> list[dict[str, Any]]:
    return list(
        ec2.describe_images(
            Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["coldvault:restored-from"]}]
        )["Images"]
    )


def _snapshots(ec2: Any) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def test_restore_test_sample_restores_checks_records_and_cleans_up(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    amis = {_archive(admin, "web"), _archive(admin, "db")}
    ec2 = boto3.client("ec2", region_name=REGION)
    snapshots_before = _snapshots(ec2)

    code, out, err = run_cli(
        capsys, "--output", "json", "restore-test", "--sample", "2", "--bucket", BUCKET, "--yes"
    )
    assert code == 0, out + err
    doc = json.loads(out)
    assert {t["ami_id"] for t in doc["tests"]} == amis
    for t in doc["tests"]:
        assert t["outcome"] == "succeeded", t
        assert t["checks"] == {
            "available": True,
            "block_device_layout": True,
            "volume_types": True,
            "tags": True,
        }
        assert t["cleaned_up"]
        assert t["restored_ami_id"].startswith("ami-")
    assert "expected wait" in err  # the costs and waits were shown first
    assert _restored(ec2) == []  # every restored AMI deregistered
    assert _snapshots(ec2) == snapshots_before  # and its snapshots deleted

    s3 = S3(boto3.client("s3", region_name=REGION))
    tests, bad = restore_evidence.read_all(s3, BUCKET)
    assert bad == []
    assert set(tests) == amis
    assert all(r.succeeded and r.region == REGION for rs in tests.values() for r in rs)

    code, out, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json")
    assert code == 0, out + err
    assert all(a["restore_tests"] for a in json.loads(out)["archives"])


def test_restore_test_never_touches_an_ami_a_user_restored(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    ami = _archive(admin, "web")
    code, _, err = run_cli(capsys, "--output", "json", "restore", ami, "--bucket", BUCKET, "--yes", "--wait")
    assert code == 0, err
    ec2 = boto3.client("ec2", region_name=REGION)
    (users,) = _restored(ec2)

    code, out, err = run_cli(capsys, "--output", "json", "restore-test", ami, "--bucket", BUCKET, "--yes")
    assert code == 0, err
    (t,) = json.loads(out)["tests"]
    assert t["outcome"] == "skipped"
    assert users["ImageId"] in t["skipped"]
    assert [i["ImageId"] for i in _restored(ec2)] == [users["ImageId"]]


def test_restore_test_of_a_deep_archive_thaws_first(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    """Through the engine on the sandbox's virtual clock: a Bulk Glacier restore, then the image."""
    make_bucket(BUCKET)
    ami = _archive(admin, "cold", "DEEP_ARCHIVE")
    svc = restore_services(admin)
    (entry,) = restore_test.choose(Catalog(svc.s3.client, BUCKET), svc.s3, [], 1)
    result = restore_test.restore_and_check(
        svc, RestoreOptions(tier="Bulk", days=1), entry, bucket=BUCKET, run_id="rt1"
    )
    assert result.ok, result.to_json()
    assert result.entry.ami_id == ami
    key = result.to_json()["evidence_key"]
    assert keys.ami_of_restore_test_key(key) == ami
    assert _restored(boto3.client("ec2", region_name=REGION)) == []


def test_restore_test_bad_input_exits_2(aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "restore-test", "--bucket", BUCKET, "--yes")
    assert code == 2
    assert "--sample" in err
    code, _, err = run_cli(
        capsys, "restore-test", "ami-0123456789abcdef0", "--sample", "1", "--bucket", BUCKET
    )
    assert code == 2
    code, _, err = run_cli(capsys, "restore-test", "--sample", "0", "--bucket", BUCKET)
    assert code == 2
    code, _, err = run_cli(capsys, "restore-test", "--sample", "1", "--tier", "Slow", "--bucket", BUCKET)
    assert code == 2

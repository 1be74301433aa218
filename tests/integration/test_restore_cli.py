"""`coldvault restore` on the sandbox: restore and wait, a second restore returns the same AMI, names
already taken, bad input exits 2 with nothing changed, the status message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from coldvault.pricing import Prices
from coldvault.restore.policy import estimate
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import make_bucket as secure_bucket
from tests.integration.test_restore_support import REGION, archive_point, make_bucket, run_cli, seeded_point

pytestmark = pytest.mark.integration
BUCKET = "archive-cli"
TAGS = {"Name": "api-02", "team": "api", "env": "staging"}


def one_error(err: str) -> bool:
    """One error message (the console may wrap it to the terminal's width), no traceback."""
    return (
        err.startswith("coldvault: error: ") and err.count("coldvault: error") == 1 and "Traceback" not in err
    )


@pytest.fixture
def fast_images(admin: SandboxAdmin) -> None:
    """Restored AMIs available at once: the CLI waits on the real clock."""
    admin.update_settings(restore_bytes_per_second=1e15, image_available_after_seconds=0)


def _archive(
    admin: SandboxAdmin, storage_class: str, *, volumes: Any = None
) -> tuple[str, str, dict[str, Any]]:
    point = seeded_point(admin, tags=TAGS, volumes=volumes or [("/dev/xvda", 8, False)])
    ami_id, key = archive_point(admin, BUCKET, storage_class, point["RecoveryPointArn"])
    return ami_id, key, point


def _restored_images() -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    return list(
        ec2.describe_images(
            Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["coldvault:restored-from"]}]
        )["Images"]
    )


def test_restore_waits_for_the_ami_and_a_second_restore_returns_it(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    ami_id, key, _ = _archive(admin, "GLACIER")

    code, out, err = run_cli(
        capsys, "--output", "json", "restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    first = json.loads(out)
    assert first["outcome"] == "restored"
    assert first["thaw"] == "requested"
    assert not first["adopted"]

    code, out, err = run_cli(
        capsys, "--output", "json", "restore", key, "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    second = json.loads(out)
    assert second["image_id"] == first["image_id"]
    assert second["adopted"]
    assert [i["ImageId"] for i in _restored_images()] == [first["image_id"]]

    code, out, err = run_cli(capsys, "restore", ami_id, "--bucket", BUCKET, "--yes")
    assert code == 0, err
    assert f"returned the AMI restored before {ami_id} as {first['image_id']}" in out.replace("\n", " ")


def test_restore_reports_to_the_queue_and_the_bucket(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    ami_id, key, point = _archive(admin, "GLACIER_IR")
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="coldvault-status")["QueueUrl"]

    code, _, err = run_cli(
        capsys, "restore", ami_id, "--bucket", BUCKET, "--yes", "--wait", "--queue-url", queue_url
    )
    assert code == 0, err

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(messages[0]["Body"])
    assert body["kind"] == "restore"
    assert body["outcome"] == "restored"
    assert body["archive_key"] == key
    assert body["recovery_point_arn"] == point["RecoveryPointArn"]
    s3 = boto3.client("s3", region_name=REGION)
    logs = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="logs/")["Contents"]]
    report = json.loads(
        s3.get_object(Bucket=BUCKET, Key=next(k for k in logs if k.endswith(".json")))["Body"].read()
    )
    assert report["items"][0]["image_id"] == body["image_id"]
    assert any(k.endswith(".csv") for k in logs)


def test_names_already_taken(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    ami_id, _, _ = _archive(admin, "GLACIER_IR")
    ec2 = boto3.client("ec2", region_name=REGION)
    instance = ec2.describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]
    ec2.create_image(InstanceId=instance, Name="golden-image")

    # An explicit name another AMI has: exit 2, nothing made.
    code, _, err = run_cli(capsys, "restore", ami_id, "--bucket", BUCKET, "--yes", "--name", "golden-image")
    assert code == 2
    assert one_error(err)
    assert "golden-image" in err
    assert "--name" in err
    assert _restored_images() == []

    # The default name taken by an AMI that is not ours: the next deterministic variant.
    code, out, err = run_cli(
        capsys, "--output", "json", "restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    default = json.loads(out)["image_name"]
    images = _restored_images()
    assert len(images) == 1
    ec2.deregister_image(ImageId=images[0]["ImageId"])
    ec2.create_image(InstanceId=instance, Name=default)  # somebody else now holds the default name
    code, out, err = run_cli(
        capsys, "--output", "json", "restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    assert json.loads(out)["image_name"] == f"{default}-2"


def test_bad_input_exits_2_and_changes_nothing(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_bucket(BUCKET)
    bad_prices = tmp_path / "prices.json"
    bad_prices.write_text(json.dumps({"retrieval_per_gb": {"GLACIER/Fast": 0.1}}))
    deep_ami, deep_key, point = _archive(admin, "DEEP_ARCHIVE")
    # A second archive of the same instance makes the instance id ambiguous.
    instance_id = point["ResourceArn"].rsplit("/", 1)[-1]
    again = admin.create_recovery_point(vault_name="restore-vault", instance_id=instance_id, age_days=35)
    archive_point(admin, BUCKET, "GLACIER", again["RecoveryPointArn"])
    make_bucket("archive-west", region="us-west-2")

    cases = [
        (["restore", "ami-0123456789abcdef0"], "no archive found"),
        (["restore", instance_id], "ambiguous"),
        (["restore", "ami-"], "ambiguous"),
        (["restore", "something-else"], "no archive found"),
        (["restore", " "], "no archive given"),
        (["restore", "recovery-points/123456789012/us-east-1/i-0/2026/01/01/ami-0.bin"], "no archive found"),
        (["restore", "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"], "no archive found"),
        (["restore", deep_ami, "--tier", "Fast"], "invalid tier"),
        (["restore", deep_ami, "--days", "0"], "--days"),
        (["restore", deep_ami, "--days", "two"], "--days must be a number"),
        (["restore", deep_ami, "--deadline-hours", "-1"], "deadline"),
        (["restore", deep_ami, "--tier", "Expedited"], "no Expedited"),
        (["restore", deep_ami, "--name", "x"], "invalid AMI name"),
        (["restore", deep_ami, "--bucket", "archive-west"], "us-west-2"),
        (["restore", deep_ami, "--bucket", "no-such-bucket-here"], "no-such-bucket-here"),
        (["restore", deep_ami, "--prices", str(bad_prices)], "unknown key 'GLACIER/Fast'"),
        (["restore", deep_ami, "--prices", str(tmp_path / "none.json")], "cannot read price file"),
    ]
    for args, expected in cases:
        full = [*args, "--yes"] if "--bucket" in args else [*args, "--bucket", BUCKET, "--yes"]
        code, _, err = run_cli(capsys, *full)
        assert code == 2, (args, err)
        assert one_error(err), (args, err)
        assert expected in " ".join(err.split()), (args, err)

    code, _, err = run_cli(capsys, "restore", deep_ami, "--bucket", BUCKET)  # no terminal to ask on
    assert code == 2
    assert "pass --yes" in err

    s3 = boto3.client("s3", region_name=REGION)
    assert "Restore" not in s3.head_object(Bucket=BUCKET, Key=deep_key)
    assert _restored_images() == []


def test_prices_file_overrides_the_restore_estimate(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_bucket(BUCKET)
    ami_id, _, _ = _archive(admin, "GLACIER")
    code, out, err = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(
        json.dumps({"date": "2027-02-01", "restore_requests_per_1000": {"GLACIER/Standard": 5000.0}})
    )
    prices = Prices.load(prices_file)
    expected = estimate("GLACIER", row["size_bytes"], "Standard", 3, prices).total_usd
    assert expected != pytest.approx(estimate("GLACIER", row["size_bytes"], "Standard", 3).total_usd)

    code, out, err = run_cli(
        capsys, "restore", ami_id, "--bucket", BUCKET, "--yes", "--prices", str(prices_file)
    )
    assert code == 0, err
    shown = " ".join(err.split())  # the preview goes to stderr with the prompt; the result to stdout
    assert f"${expected:.4f}" in shown
    assert "2027-02-01" in shown


def test_cli_round_trip_archive_list_restore(
    aws_env: dict[str, str], admin: SandboxAdmin, fast_images: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands a user types: archive a seeded point to GLACIER, list it, restore it and wait."""
    admin.update_settings(store_bytes_per_second=1e13)  # the archive CLI waits on the real clock too
    secure_bucket(BUCKET, region=REGION)
    point = seeded_point(
        admin, tags=TAGS, volumes=[("/dev/xvda", 8, False), ("/dev/sdf", 20, False)], age_days=60
    )
    code, _, err = run_cli(
        capsys, "archive", "--vault", "restore-vault", "--bucket", BUCKET, "--older-than", "30",
        "--storage-class", "GLACIER", "--poll-min-seconds", "0.2", "--yes",
    )  # fmt: skip
    assert code == 0, err

    code, out, err = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["recovery_point_arn"] == point["RecoveryPointArn"]
    assert row["storage_class"] == "GLACIER"
    assert row["restore_state"] == "none"

    code, out, err = run_cli(
        capsys, "--output", "json", "restore", row["ami_id"], "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["outcome"] == "restored"
    image = boto3.client("ec2", region_name=REGION).describe_images(ImageIds=[result["image_id"]])["Images"][
        0
    ]
    assert image["State"] == "available"
    assert {t["Key"]: t["Value"] for t in image["Tags"]}.items() >= TAGS.items()
    assert sorted((m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in image["BlockDeviceMappings"]) == [
        ("/dev/sdf", 20),
        ("/dev/xvda", 8),
    ]
    code, out, _ = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")
    assert json.loads(out)[0]["restore_state"].startswith("readable until ")

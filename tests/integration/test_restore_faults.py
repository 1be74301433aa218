"""Failures during a restore are named, published and leave nothing half-made; a rerun converges."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from coldvault.cli.app import main
from coldvault.errors import RestoreFailed
from coldvault.restore import RestoreOptions, run_restore
from coldvault.restore import steps as restore_steps
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    make_bucket,
    restore_services,
    seeded_point,
)

pytestmark = pytest.mark.integration
BUCKET = "archive-faults"


def _accept(*_: Any) -> None:
    return None


def _reports(s3: Any) -> list[dict[str, Any]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="logs/").get("Contents", [])]
    return [
        json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys if k.endswith(".json")
    ]


def test_access_denied_is_named_published_and_a_rerun_finishes(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "ci-runner"}, volumes=[("/dev/xvda", 8, False)])
    ami_id, _ = archive_point(admin, BUCKET, "GLACIER_IR", point["RecoveryPointArn"])
    admin.add_fault("CreateRestoreImageTask", "access_denied", times=1)
    admin.update_settings(image_available_after_seconds=0, restore_bytes_per_second=1e15)

    with pytest.raises(SystemExit) as exc:
        main(["restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"])
    err = capsys.readouterr().err
    assert exc.value.code == 1
    assert err.startswith("coldvault: error: CreateRestoreImageTask: UnauthorizedOperation")
    assert "Traceback" not in err
    s3 = boto3.client("s3", region_name=REGION)
    (failed,) = [i for r in _reports(s3) for i in r["items"]]
    assert failed["outcome"] == "failed"
    assert failed["error_type"] == "AccessDenied"
    ec2 = boto3.client("ec2", region_name=REGION)
    made = ec2.describe_images(
        Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["coldvault:restored-from"]}]
    )
    assert made["Images"] == []

    main(["restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"])  # the fault fired once: now it works
    made = ec2.describe_images(
        Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["coldvault:restored-from"]}]
    )
    assert [i["State"] for i in made["Images"]] == ["available"]


def test_an_ami_that_disappears_while_pending_is_a_failure(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "ci-runner"}, volumes=[("/dev/xvda", 8, False)])
    ami_id, _ = archive_point(admin, BUCKET, "GLACIER_IR", point["RecoveryPointArn"])
    ec2 = boto3.client("ec2", region_name=REGION)
    svc = restore_services(admin, ec2=ec2)
    work = restore_steps.start_image(
        svc, restore_steps.thaw(svc, restore_steps.prepare(svc, RestoreOptions(), ami_id, bucket=BUCKET))
    )
    ec2.deregister_image(ImageId=work.image_id)

    with pytest.raises(RestoreFailed, match="is gone"):
        restore_steps.check_image(svc, work)
    # A new restore does not adopt the vanished AMI: it makes a new one.
    again = run_restore(svc, RestoreOptions(), ami_id, bucket=BUCKET, wait=True, confirm=_accept)
    assert again.image_id != work.image_id
    assert not again.adopted

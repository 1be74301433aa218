"""A restore stopped at any step boundary (a crash) converges on rerun: the AMI made before is
followed, never a second one; a Glacier restore is never requested twice."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from coldvault.restore import RestoreOptions, Stage, run_restore
from coldvault.restore import steps as restore_steps
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    count_calls,
    make_bucket,
    restore_services,
    seeded_point,
)

pytestmark = pytest.mark.integration
BUCKET = "archive-crash"
STEPS = ("thaw", "start_image", "check_image")


def _accept(*_: Any) -> None:
    return None


@pytest.mark.parametrize("stop_after", ["prepare", "thaw", "start_image", "check_image"])
def test_rerun_after_a_crash_converges_on_one_ami(
    aws_env: dict[str, str], admin: SandboxAdmin, stop_after: str
) -> None:
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "etl-3"}, volumes=[("/dev/xvda", 40, False)])
    ami_id, key = archive_point(admin, BUCKET, "GLACIER", point["RecoveryPointArn"])
    s3, ec2 = boto3.client("s3", region_name=REGION), boto3.client("ec2", region_name=REGION)
    restores, tasks = count_calls(s3, "RestoreObject"), count_calls(ec2, "CreateRestoreImageTask")
    svc = restore_services(admin, s3=s3, ec2=ec2)

    # The first run, cut short after one step (what a killed process leaves behind).
    work = restore_steps.prepare(svc, RestoreOptions(tier="Bulk"), ami_id, bucket=BUCKET)
    done = STEPS[: STEPS.index(stop_after) + 1] if stop_after in STEPS else ()
    for step in done:
        work = getattr(restore_steps, step)(svc, work)

    rerun = run_restore(svc, RestoreOptions(tier="Bulk"), ami_id, bucket=BUCKET, wait=True, confirm=_accept)
    assert rerun.stage is Stage.DONE
    assert len(restores) == 1
    assert len(tasks) == 1
    made = ec2.describe_images(
        Owners=["self"], Filters=[{"Name": "tag:coldvault:restored-from", "Values": [key]}]
    )
    assert [i["ImageId"] for i in made["Images"]] == [rerun.image_id]
    assert rerun.adopted == (stop_after in ("start_image", "check_image"))

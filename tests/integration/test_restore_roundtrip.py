"""The round trip on the sandbox over HTTP: seeded recovery point → archive (coldvault's archive
steps) → restore → an available AMI with the original tags and block device layout."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from coldvault.pipeline import Services
from coldvault.restore import RestoreOptions, Stage, run_restore
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    make_bucket,
    restore_services,
    seeded_point,
)

pytestmark = pytest.mark.integration

TAGS = {"Name": "web-frontend-01", "team": "web", "env": "prod"}
VOLUMES = [("/dev/xvda", 8, False), ("/dev/xvdb", 100, False)]


def _services(admin: SandboxAdmin) -> Services:
    return restore_services(admin)


def _accept(*_: Any) -> None:
    return None


@pytest.mark.parametrize("storage_class", ["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"])
def test_round_trip_restores_an_available_ami_with_original_tags_and_layout(
    aws_env: dict[str, str], admin: SandboxAdmin, storage_class: str
) -> None:
    make_bucket("archive-roundtrip")
    point = seeded_point(admin, tags=TAGS, volumes=VOLUMES)
    ami_id, archive_key = archive_point(admin, "archive-roundtrip", storage_class, point["RecoveryPointArn"])

    svc = _services(admin)
    work = run_restore(
        svc, RestoreOptions(tier="Bulk"), ami_id, bucket="archive-roundtrip", wait=True, confirm=_accept
    )

    assert work.stage is Stage.DONE
    image = boto3.client("ec2", region_name=REGION).describe_images(ImageIds=[work.image_id])["Images"][0]
    assert image["State"] == "available"
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    for key, value in TAGS.items():
        assert tags[key] == value
    assert not any(k.startswith("aws:") for k in tags)
    assert tags["coldvault:restored-from"] == archive_key
    assert tags["coldvault:source-recovery-point"] == point["RecoveryPointArn"]
    layout = sorted((m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in image["BlockDeviceMappings"])
    assert layout == sorted((d, s) for d, s, _ in VOLUMES)
    assert work.thaw == ("not needed" if storage_class == "GLACIER_IR" else "requested")

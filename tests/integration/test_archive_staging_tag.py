"""The staging object carries the tag the bucket's lifecycle rule expires leftovers by; archives never do."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import boto3
import pytest

from coldvault import keys
from coldvault.models import PointWork, RecoveryPoint
from coldvault.pipeline.labels import archive_tags
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    archivable_fleet,
    archive_args,
    assert_invariants,
    objects,
    run_subprocess,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

STAGING_TAG = {"Key": keys.STAGING_TAG_KEY, "Value": keys.STAGING_TAG_VALUE}


def _tags(key: str) -> list[dict[str, str]]:
    return list(boto3.client("s3").get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"])


def test_the_staging_object_is_tagged_for_the_lifecycle_rule_and_the_archive_is_not(
    admin: SandboxAdmin,
) -> None:
    archivable_fleet(admin)
    # Stop the run right after its store task completed: the staging object is a leftover now.
    crashed = run_subprocess(archive_args(), crash_after="stored")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    (staging,) = [k for k in objects() if keys.is_ami_id(k.removesuffix(".bin"))]
    assert STAGING_TAG in _tags(staging)

    rerun = run_subprocess(archive_args())
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    (archive,) = [k for k in objects() if k.startswith(keys.ARCHIVE_PREFIX)]
    tags = _tags(archive)
    assert tags, "the archive has its own tags"
    assert all(t["Key"] != keys.STAGING_TAG_KEY for t in tags)
    assert_invariants()


def test_a_recovery_point_tag_named_like_the_staging_tag_is_not_copied_to_the_archive() -> None:
    point = RecoveryPoint(
        arn="arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0",
        vault_name="v",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=datetime(2026, 1, 2, tzinfo=UTC),
        backup_size_bytes=1,
        tags={keys.STAGING_TAG_KEY: keys.STAGING_TAG_VALUE, "Name": "web"},
    )
    work = PointWork(point=point, archive_key=keys.archive_key(point), manifest_key="m")
    tags = archive_tags(work)
    assert keys.STAGING_TAG_KEY not in tags
    assert tags["Name"] == "web"

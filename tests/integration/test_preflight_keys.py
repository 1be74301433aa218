"""The KMS keys of the AMIs' own snapshots are checked before anything is stored: a point whose key is
disabled or pending deletion is skipped with the key and the fix, the others stay candidates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from coldvault.aws.session import AwsSession
from coldvault.config import Settings
from coldvault.lease import LeaseOwner
from coldvault.models import SkipReason
from coldvault.pipeline import services_from_session
from coldvault.pipeline.listing import list_candidates
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import make_bucket
from tests.integration.test_restore_support import REGION, VAULT, SandboxClock, seeded_point

pytestmark = pytest.mark.integration


def _point_under_key(admin: SandboxAdmin, ec2: Any, key_arn: str, name: str) -> str:
    """A recovery point whose encrypted snapshots use ``key_arn`` (the account's EBS default key when
    the instance was backed up); its AMI id."""
    ec2.modify_ebs_default_kms_key_id(KmsKeyId=key_arn)
    point = seeded_point(admin, tags={"Name": name}, volumes=[("/dev/xvda", 8, True), ("/dev/sdf", 20, True)])
    return str(point["RecoveryPointArn"]).rsplit("/", 1)[-1]


def test_points_under_an_unusable_key_are_skipped_with_the_key_named(
    admin: SandboxAdmin, aws_env: dict[str, str]
) -> None:
    kms = boto3.client("kms", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    good, disabled, doomed = (
        kms.create_key(Description=d)["KeyMetadata"]["Arn"] for d in ("usable", "disabled", "doomed")
    )
    ok_ami = _point_under_key(admin, ec2, good, "usable")
    disabled_ami = _point_under_key(admin, ec2, disabled, "disabled")
    doomed_ami = _point_under_key(admin, ec2, doomed, "doomed")
    plain = seeded_point(admin, tags={"Name": "plain"}, volumes=[("/dev/xvda", 8, False)])
    plain_ami = str(plain["RecoveryPointArn"]).rsplit("/", 1)[-1]
    kms.disable_key(KeyId=disabled.rsplit("/", 1)[-1])  # (the sandbox takes key ids here, not ARNs)
    kms.schedule_key_deletion(KeyId=doomed.rsplit("/", 1)[-1], PendingWindowInDays=7)
    make_bucket()

    clock = SandboxClock(admin)
    svc = services_from_session(AwsSession(region=REGION), clock=clock, owner=LeaseOwner(run_id="keys"))
    settings = Settings(
        vault=VAULT, bucket="coldvault-archive", cutoff=clock.now() + timedelta(days=1), run_id="k"
    )
    plan = list_candidates(svc, settings)

    assert {p.ami_id for p in plan.candidates} == {ok_ami, plain_ami}
    skipped = {s.point.ami_id: s for s in plan.skipped}
    assert skipped[disabled_ami].reason is SkipReason.NOT_STORABLE
    assert f"KMS key {disabled} is Disabled" in skipped[disabled_ami].detail
    assert skipped[disabled_ami].detail.count("snapshot snap-") == 1  # both snapshots, one line per key
    assert f"KMS key {doomed} is PendingDeletion" in skipped[doomed_ami].detail

"""An EC2 recovery point's tags come from its AMI: AWS says Backup ListTags may fail for ARNs that are
not arn:aws:backup (every EC2 point's), so coldvault does not call it for them."""

from __future__ import annotations

import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import archivable_fleet, archive_args, manifests, run_inprocess

pytestmark = pytest.mark.integration


def test_point_tags_are_the_amis_even_when_listtags_fails_on_ec2_arns(
    admin: SandboxAdmin, aws_env: dict[str, str]
) -> None:
    archivable_fleet(admin, instances=1, months=1)
    admin.add_fault(
        "ListTags", "error", code="InvalidParameterValueException", reason="Invalid ARN", status=400
    )
    assert run_inprocess(archive_args()) == 0
    (record,) = manifests().values()
    point = record["recovery_point"]
    assert point["tags_error"] == ""
    assert point["tags"] == record["image"]["tags"]
    assert "aws:backup:source-resource" in point["tags"]
    assert admin.faults()[0]["fired"] == 0  # ListTags was never called for the EC2 point

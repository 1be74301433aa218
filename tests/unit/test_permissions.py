"""``@permissions``: IAM actions stored on the method as data, checked when declared."""

from __future__ import annotations

import pytest

from coldvault.aws.ec2 import Ec2
from coldvault.aws.permissions import adapter_methods, declared, permissions
from coldvault.aws.s3 import S3


def test_the_actions_are_stored_on_the_function_which_runs_unchanged() -> None:
    @permissions("s3:GetObject", "s3:PutObject")
    def call(x: int) -> int:
        return x + 1

    assert declared(call) == {"s3:GetObject", "s3:PutObject"}
    assert call(1) == 2
    assert declared(lambda: None) is None


@pytest.mark.parametrize("bad", ["s3", "s3:", ":GetObject", "s3:*", "*"])
def test_a_declaration_that_is_not_one_action_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not one IAM action"):
        permissions(bad)


def test_the_restore_methods_declare_what_ec2_and_s3_need() -> None:
    ec2 = adapter_methods(Ec2)
    assert ec2["create_restore_image_task"] is not None
    assert {"ec2:CreateRestoreImageTask", "ebs:PutSnapshotBlock", "s3:GetObject"} <= ec2[
        "create_restore_image_task"
    ]
    assert adapter_methods(S3)["request_restore"] == {"s3:RestoreObject"}
    assert "__init__" not in ec2

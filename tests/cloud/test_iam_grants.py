"""The grants a review against AWS's documentation asked for (docs/cloud.md, "IAM and KMS")."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.cloud


def _statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    found = {}
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found[statement["Sid"]] = statement
    return found


def _actions(statements: dict[str, dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for s in statements.values():
        found |= {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
    return found


@pytest.mark.parametrize("role", ["FunctionRole", "RestoreFunctionRole"])
def test_snapshot_keys_are_usable_only_through_ec2_and_ebs_and_grants_only_for_aws_resources(
    template: dict[str, Any], role: str
) -> None:
    statements = _statements(template, role)
    kms = {
        sid: s
        for sid, s in statements.items()
        if sid != "ArchiveKey"
        and any(
            a.startswith("kms:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
    }
    grants = [s for s in kms.values() if "kms:CreateGrant" in s["Action"]]
    assert grants
    for statement in grants:
        assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    for sid, statement in kms.items():
        if statement["Resource"] != "*":
            assert statement["Action"] == "kms:DescribeKey", sid  # preflight reads key states only
            continue
        services = statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert [s["Fn::Sub"] for s in services] == [
            "ec2.${AWS::Region}.amazonaws.com",
            "ebs.${AWS::Region}.amazonaws.com",
        ], sid
        assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    needed = {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:CreateGrant",
    }
    assert needed <= _actions({k: v for k, v in kms.items() if v["Resource"] == "*"})


def test_archive_role_deletes_nothing_in_ec2_and_may_have_backups_service_linked_role_created(
    template: dict[str, Any],
) -> None:
    statements = _statements(template, "FunctionRole")
    assert not {"ec2:DeregisterImage", "ec2:DeleteSnapshot"} & _actions(statements)
    slr = statements["BackupServiceLinkedRole"]
    assert slr["Action"] == "iam:CreateServiceLinkedRole"
    assert slr["Condition"] == {"StringEquals": {"iam:AWSServiceName": "backup.amazonaws.com"}}
    assert slr["Resource"]["Fn::Sub"].endswith(
        ":role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup"
    )


def test_restore_role_registers_no_image_itself(template: dict[str, Any]) -> None:
    assert "ec2:RegisterImage" not in _actions(_statements(template, "RestoreFunctionRole"))

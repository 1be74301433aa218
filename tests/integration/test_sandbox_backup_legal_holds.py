"""The sandbox's AWS Backup legal holds, over HTTP with boto3: botocore's output shapes, the model's
errors, selection by vault/resource/date, CREATING then ACTIVE on sandbox time, cancellation, and
DeleteRecoveryPoint refused while a hold includes the point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_sandbox_backup_fidelity import call, error_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def _point(admin: SandboxAdmin, vault: str, age_days: float, instance: str = "") -> dict[str, Any]:
    extra = {"resource_arn": f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}"} if instance else {}
    return admin.create_recovery_point(vault_name=vault, age_days=age_days, create_vault=True, **extra)


def test_holds_select_points_become_active_cancel_and_keep_their_record(admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    old = _point(admin, "main", 40, "i-0aaaaaaaaaaaaaaa1")
    young = _point(admin, "main", 2, "i-0aaaaaaaaaaaaaaa1")
    other_instance = _point(admin, "main", 40, "i-0bbbbbbbbbbbbbbb2")
    elsewhere = _point(admin, "other", 40, "i-0aaaaaaaaaaaaaaa1")
    now = datetime.now(UTC)
    created = call(
        backup,
        "CreateLegalHold",
        Title="litigation 42",
        Description="keep the old web backups",
        IdempotencyToken="tok-1",
        RecoveryPointSelection={
            "VaultNames": ["main"],
            "ResourceIdentifiers": [old["ResourceArn"]],
            "DateRange": {"FromDate": now - timedelta(days=60), "ToDate": now - timedelta(days=10)},
        },
        Tags={"case": "42"},
    )
    assert created["Status"] == "CREATING"
    hold = created["LegalHoldId"]
    assert created["LegalHoldArn"].endswith(f":legal-hold:{hold}")
    again = call(
        backup, "CreateLegalHold", Title="litigation 42", Description="again", IdempotencyToken="tok-1"
    )
    assert again["LegalHoldId"] == hold, "the same IdempotencyToken returns the same hold"

    members = call(backup, "ListRecoveryPointsByLegalHold", LegalHoldId=hold)["RecoveryPoints"]
    assert [m["RecoveryPointArn"] for m in members] == [old["RecoveryPointArn"]]
    assert members[0] == {
        "RecoveryPointArn": old["RecoveryPointArn"],
        "ResourceArn": old["ResourceArn"],
        "ResourceType": "EC2",
        "BackupVaultName": "main",
    }
    admin.advance_clock(5)
    got = call(backup, "GetLegalHold", LegalHoldId=hold)
    assert got["Status"] == "ACTIVE"
    assert got["RecoveryPointSelection"]["VaultNames"] == ["main"]
    assert (
        got["RecoveryPointSelection"]["DateRange"]["FromDate"]
        < got["RecoveryPointSelection"]["DateRange"]["ToDate"]
    )
    (listed,) = call(backup, "ListLegalHolds")["LegalHolds"]
    assert (listed["LegalHoldId"], listed["Status"], listed["Title"]) == (hold, "ACTIVE", "litigation 42")

    # held: refused with AWS's error; the others are not held
    with pytest.raises(ClientError) as refused:
        backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=old["RecoveryPointArn"])
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "active legal hold" in refused.value.response["Error"]["Message"]
    for free in (young, other_instance):
        call(backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=free["RecoveryPointArn"])
    call(
        backup, "DeleteRecoveryPoint", BackupVaultName="other", RecoveryPointArn=elsewhere["RecoveryPointArn"]
    )

    answer = call(
        backup, "CancelLegalHold", LegalHoldId=hold, CancelDescription="case closed", RetainRecordInDays=30
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 201
    cancelled = call(backup, "GetLegalHold", LegalHoldId=hold)
    assert cancelled["Status"] == "CANCELED"
    assert cancelled["CancelDescription"] == "case closed"
    assert cancelled["RetainRecordUntil"] - cancelled["CancellationDate"] == timedelta(days=30)
    assert call(backup, "ListLegalHolds")["LegalHolds"][0]["Status"] == "CANCELED"
    call(backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=old["RecoveryPointArn"])
    assert call(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="main")["RecoveryPoints"] == []


def test_a_hold_with_no_selection_holds_every_point_and_lists_page_by_page(admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    arns = {_point(admin, "main", 40 + i)["RecoveryPointArn"] for i in range(3)}
    holds = [call(backup, "CreateLegalHold", Title=f"t{i}", Description="d")["LegalHoldId"] for i in range(3)]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 2}
    while True:
        page = call(backup, "ListLegalHolds", **kwargs)
        seen += [h["LegalHoldId"] for h in page["LegalHolds"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == holds
    first = call(backup, "ListRecoveryPointsByLegalHold", LegalHoldId=holds[0], MaxResults=2)
    rest = call(backup, "ListRecoveryPointsByLegalHold", LegalHoldId=holds[0], NextToken=first["NextToken"])
    assert {p["RecoveryPointArn"] for p in first["RecoveryPoints"] + rest["RecoveryPoints"]} == arns
    # two holds on a point: cancelling one still refuses the deletion
    call(backup, "CancelLegalHold", LegalHoldId=holds[0], CancelDescription="done")
    some = next(iter(arns))
    assert error_of(backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=some) == (
        "InvalidRequestException"
    )


def test_every_legal_hold_error_is_one_the_model_lists(admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    for operation, kwargs in (
        ("GetLegalHold", {"LegalHoldId": "nope"}),
        ("CancelLegalHold", {"LegalHoldId": "nope", "CancelDescription": "x"}),
    ):
        assert error_of(backup, operation, **kwargs) == "ResourceNotFoundException"
    # ListRecoveryPointsByLegalHold's model has no ResourceNotFoundException: a bad id is a bad value
    assert error_of(backup, "ListRecoveryPointsByLegalHold", LegalHoldId="nope") == (
        "InvalidParameterValueException"
    )
    assert error_of(backup, "CreateLegalHold", Title="", Description="d") == "MissingParameterValueException"
    now = datetime.now(UTC)
    backwards = {"DateRange": {"FromDate": now, "ToDate": now - timedelta(days=1)}}
    assert error_of(
        backup, "CreateLegalHold", Title="t", Description="d", RecoveryPointSelection=backwards
    ) == ("InvalidParameterValueException")
    assert error_of(backup, "ListLegalHolds", MaxResults=5000) == "InvalidParameterValueException"
    hold = call(backup, "CreateLegalHold", Title="t", Description="d")["LegalHoldId"]
    assert error_of(backup, "CancelLegalHold", LegalHoldId=hold, CancelDescription="") == (
        "MissingParameterValueException"
    )
    call(backup, "CancelLegalHold", LegalHoldId=hold, CancelDescription="x")
    assert error_of(backup, "CancelLegalHold", LegalHoldId=hold, CancelDescription="x") == (
        "InvalidResourceStateException"
    )

"""Fidelity: every response of every Backup operation the sandbox adds matches botocore's output
shape, and every error code it answers is one the model lists for that operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/backup"
MODEL = botocore.session.get_session().get_service_model("backup")
# AWS's common errors, answered by every service but not listed per operation in the model;
# the sandbox only sends them when a fault is injected.
COMMON_ERRORS = {"AccessDeniedException", "ThrottlingException"}


def modelled_errors(operation: str) -> set[str]:
    return {shape.name for shape in MODEL.operation_model(operation).error_shapes}


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    method: Callable[..., dict[str, Any]] = getattr(client, _snake(operation))
    response = method(**kwargs)
    assert shape_errors("backup", operation, response) == [], operation
    return response


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def error_of(client: Any, operation: str, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as failed:
        getattr(client, _snake(operation))(**kwargs)
    code = str(failed.value.response["Error"]["Code"])
    assert code in modelled_errors(operation), f"{operation} answered {code}, not in the model"
    return code


def test_every_added_operation_matches_its_output_shape(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    ec2 = boto3.client("ec2")
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "db"}]}],
    )["Instances"][0]["InstanceId"]
    backup.create_backup_vault(BackupVaultName="main")
    admin.update_settings(backup_bytes_per_second=1024**3)
    arn = f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}"
    job = call(
        backup,
        "StartBackupJob",
        BackupVaultName="main",
        ResourceArn=arn,
        IamRoleArn=ROLE,
        Lifecycle={"DeleteAfterDays": 90, "MoveToColdStorageAfterDays": 10},
        RecoveryPointTags={"k": "v"},
        BackupOptions={"WindowsVSS": "disabled"},
    )
    for advance in (0, 1.5, 3600):  # CREATED, RUNNING, COMPLETED
        admin.advance_clock(advance)
        call(backup, "DescribeBackupJob", BackupJobId=job["BackupJobId"])
        call(backup, "ListBackupJobs")
        call(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="main")
        call(
            backup, "DescribeRecoveryPoint", BackupVaultName="main", RecoveryPointArn=job["RecoveryPointArn"]
        )
    for status in ("PARTIAL", "EXPIRED", "CREATING", "AVAILABLE", "STOPPED", "DELETING"):
        admin.create_recovery_point(vault_name="main", status=status, status_message=f"is {status}")
    admin.create_recovery_point(vault_name="main", resource_type="EBS", backup_plan_id="p1")
    listed = call(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="main", MaxResults=3)
    assert "NextToken" in listed
    for point in call(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="main")["RecoveryPoints"]:
        call(
            backup,
            "DescribeRecoveryPoint",
            BackupVaultName="main",
            RecoveryPointArn=point["RecoveryPointArn"],
        )
        assert error_of(backup, "ListTags", ResourceArn=point["RecoveryPointArn"]) == (
            "InvalidParameterValueException"  # an EC2 point's ARN: AWS says ListTags may fail
        )
    call(backup, "ListBackupJobs", MaxResults=1, ByState="COMPLETED")
    call(backup, "DescribeBackupVault", BackupVaultName="main")
    call(backup, "ListBackupVaults")
    call(backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=job["RecoveryPointArn"])


def test_every_error_is_one_the_model_lists(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    backup.create_backup_vault(BackupVaultName="main")
    missing_point = "arn:aws:ec2:us-east-1::image/ami-00000000000000000"
    instance_arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-00000000000000000"
    assert error_of(
        backup, "StartBackupJob", BackupVaultName="x", ResourceArn=instance_arn, IamRoleArn=ROLE
    ) == ("ResourceNotFoundException")
    assert error_of(
        backup, "StartBackupJob", BackupVaultName="main", ResourceArn="arn:aws:s3:::b", IamRoleArn=ROLE
    ) == ("InvalidParameterValueException")
    assert error_of(backup, "DescribeBackupJob", BackupJobId="nope") == "ResourceNotFoundException"
    assert error_of(backup, "ListBackupJobs", MaxResults=5000) == "InvalidParameterValueException"
    assert (
        error_of(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="x")
        == "ResourceNotFoundException"
    )
    assert error_of(backup, "ListRecoveryPointsByBackupVault", BackupVaultName="main", NextToken="%%") == (
        "InvalidParameterValueException"
    )
    assert error_of(
        backup, "DescribeRecoveryPoint", BackupVaultName="main", RecoveryPointArn=missing_point
    ) == ("ResourceNotFoundException")
    assert error_of(
        backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=missing_point
    ) == ("ResourceNotFoundException")
    creating = admin.create_recovery_point(vault_name="main", status="CREATING")["RecoveryPointArn"]
    assert error_of(backup, "DeleteRecoveryPoint", BackupVaultName="main", RecoveryPointArn=creating) == (
        "InvalidResourceStateException"
    )
    assert error_of(backup, "ListTags", ResourceArn=missing_point) == "InvalidParameterValueException"


@pytest.mark.parametrize(
    "operation",
    [
        "StartBackupJob",
        "DescribeBackupJob",
        "ListBackupJobs",
        "ListRecoveryPointsByBackupVault",
        "DescribeRecoveryPoint",
        "DeleteRecoveryPoint",
        "ListTags",
    ],
)
def test_injected_faults_answer_only_common_errors(
    aws_env: dict[str, str], admin: SandboxAdmin, operation: str
) -> None:
    backup = boto3.client("backup", config=Config(retries={"total_max_attempts": 1}))
    backup.create_backup_vault(BackupVaultName="main")
    point = admin.create_recovery_point(vault_name="main")["RecoveryPointArn"]
    kwargs: dict[str, Any] = {
        "StartBackupJob": {
            "BackupVaultName": "main",
            "ResourceArn": "arn:aws:ec2:us-east-1:1:instance/i-1",
            "IamRoleArn": ROLE,
        },
        "DescribeBackupJob": {"BackupJobId": "x"},
        "ListBackupJobs": {},
        "ListRecoveryPointsByBackupVault": {"BackupVaultName": "main"},
        "DescribeRecoveryPoint": {"BackupVaultName": "main", "RecoveryPointArn": point},
        "DeleteRecoveryPoint": {"BackupVaultName": "main", "RecoveryPointArn": point},
        "ListTags": {"ResourceArn": point},
    }[operation]
    for kind in ("throttle", "access_denied"):
        admin.add_fault(operation, kind, times=1)
        with pytest.raises(ClientError) as failed:
            getattr(backup, _snake(operation))(**kwargs)
        assert failed.value.response["Error"]["Code"] in COMMON_ERRORS

"""The sandbox's Backup additions also work in moto's in-process mode (``mock_aws``)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from coldvault.sandbox import admin
from coldvault.sandbox.install import install


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_backup_job_and_recovery_point_in_process(env: None) -> None:
    install()
    with mock_aws():
        ec2 = boto3.client("ec2")
        backup = boto3.client("backup")
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0][
            "InstanceId"
        ]
        backup.create_backup_vault(BackupVaultName="v")
        job = backup.start_backup_job(
            BackupVaultName="v",
            ResourceArn=f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}",
            IamRoleArn="arn:aws:iam::123456789012:role/backup",
        )
        admin.advance_clock(3600)
        assert backup.describe_backup_job(BackupJobId=job["BackupJobId"])["State"] == "COMPLETED"
        point = backup.describe_recovery_point(BackupVaultName="v", RecoveryPointArn=job["RecoveryPointArn"])
        assert point["Status"] == "COMPLETED"
        backup.delete_recovery_point(BackupVaultName="v", RecoveryPointArn=job["RecoveryPointArn"])
        assert backup.list_recovery_points_by_backup_vault(BackupVaultName="v")["RecoveryPoints"] == []

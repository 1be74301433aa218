"""AWS Backup in the sandbox over HTTP: backup jobs, recovery points, deletes, faults, reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin

pytestmark = pytest.mark.integration

GIB = 1024**3
ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def clients(retry: bool = True) -> tuple[Any, Any]:
    config = None if retry else NO_RETRY
    return boto3.client("backup", config=config), boto3.client("ec2", config=config)


def make_instance(ec2: Any, name: str = "web-01", data_gib: int = 100) -> str:
    reply = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": data_gib}}],
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Name", "Value": name}, {"Key": "team", "Value": "a"}],
            }
        ],
    )
    return str(reply["Instances"][0]["InstanceId"])


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:us-east-1:123456789012:instance/{instance_id}"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_backup_job_runs_under_virtual_time_and_yields_an_ami_backed_point(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    backup, ec2 = clients()
    instance_id = make_instance(ec2, data_gib=100)
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])
    total = sum(v["Size"] for v in volumes["Volumes"]) * GIB
    backup.create_backup_vault(BackupVaultName="main")
    admin.update_settings(backup_bytes_per_second=GIB)  # 1 GiB per virtual second

    job = backup.start_backup_job(
        BackupVaultName="main",
        ResourceArn=instance_arn(instance_id),
        IamRoleArn=ROLE,
        RecoveryPointTags={"owner": "ops"},
        Lifecycle={"DeleteAfterDays": 30},
    )
    assert job["RecoveryPointArn"].startswith("arn:aws:ec2:us-east-1::image/ami-")
    first = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert first["State"] == "CREATED"
    assert first["PercentDone"] == "0"
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="main")["RecoveryPoints"]
    assert [p["Status"] for p in points] == ["CREATING"]

    admin.advance_clock(total / GIB / 2)
    middle = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert middle["State"] == "RUNNING"
    assert 30 <= int(middle["PercentDone"]) <= 70

    admin.advance_clock(total / GIB)
    done = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert done["State"] == "COMPLETED"
    assert done["PercentDone"] == "100"
    assert done["BackupSizeInBytes"] == total

    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="main")["RecoveryPoints"]
    assert len(points) == 1
    point = points[0]
    assert point["ResourceType"] == "EC2"
    assert point["Status"] in ("COMPLETED", "AVAILABLE")
    assert point["ResourceArn"] == instance_arn(instance_id)
    assert point["BackupSizeInBytes"] == total
    assert point["ResourceName"] == "web-01"

    ami_id = job["RecoveryPointArn"].rsplit("/", 1)[1]
    image = ec2.describe_images(ImageIds=[ami_id])["Images"][0]
    assert image["Name"].startswith(f"AwsBackup_{instance_id}_")
    assert image["Description"] == "This AMI is created by AWS Backup"
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert tags["Name"] == "web-01"
    assert tags["owner"] == "ops"
    assert tags["aws:backup:source-resource"] == instance_id
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
    assert len(snapshot_ids) == len(volumes["Volumes"])
    assert sum(m["Ebs"]["VolumeSize"] for m in image["BlockDeviceMappings"]) * GIB == total
    assert len(ec2.describe_snapshots(SnapshotIds=snapshot_ids)["Snapshots"]) == len(snapshot_ids)

    assert backup.describe_backup_vault(BackupVaultName="main")["NumberOfRecoveryPoints"] == 1
    listed = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    assert listed["main"]["NumberOfRecoveryPoints"] == 1
    with pytest.raises(ClientError) as refused:  # AWS: ListTags may fail for a non-arn:aws:backup ARN
        backup.list_tags(ResourceArn=job["RecoveryPointArn"])
    assert error_code(refused) == "InvalidParameterValueException"


def test_start_backup_job_errors(aws_env: dict[str, str]) -> None:
    backup, ec2 = clients()
    instance_id = make_instance(ec2)
    with pytest.raises(ClientError) as missing_vault:
        backup.start_backup_job(
            BackupVaultName="nope", ResourceArn=instance_arn(instance_id), IamRoleArn=ROLE
        )
    assert error_code(missing_vault) == "ResourceNotFoundException"
    backup.create_backup_vault(BackupVaultName="main")
    with pytest.raises(ClientError) as bad_arn:
        backup.start_backup_job(BackupVaultName="main", ResourceArn="arn:aws:s3:::bucket", IamRoleArn=ROLE)
    assert error_code(bad_arn) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing_instance:
        backup.start_backup_job(
            BackupVaultName="main", ResourceArn=instance_arn("i-0123456789abcdef0"), IamRoleArn=ROLE
        )
    assert error_code(missing_instance) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as missing_job:
        backup.describe_backup_job(BackupJobId="00000000-0000-0000-0000-000000000000")
    assert error_code(missing_job) == "ResourceNotFoundException"
    assert missing_job.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_backup_jobs_filters_and_pages(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, ec2 = clients()
    backup.create_backup_vault(BackupVaultName="a")
    backup.create_backup_vault(BackupVaultName="b")
    ids = [make_instance(ec2, name=f"n{i}") for i in range(3)]
    admin.update_settings(backup_bytes_per_second=1.0)  # nothing finishes
    jobs = [
        backup.start_backup_job(BackupVaultName=vault, ResourceArn=instance_arn(i), IamRoleArn=ROLE)
        for vault, i in (("a", ids[0]), ("a", ids[1]), ("b", ids[2]))
    ]
    assert len(backup.list_backup_jobs()["BackupJobs"]) == 3
    assert {j["BackupJobId"] for j in backup.list_backup_jobs(ByBackupVaultName="a")["BackupJobs"]} == {
        jobs[0]["BackupJobId"],
        jobs[1]["BackupJobId"],
    }
    by_arn = backup.list_backup_jobs(ByResourceArn=instance_arn(ids[2]))["BackupJobs"]
    assert [j["BackupJobId"] for j in by_arn] == [jobs[2]["BackupJobId"]]
    assert backup.list_backup_jobs(ByState="COMPLETED")["BackupJobs"] == []
    assert len(backup.list_backup_jobs(ByResourceType="EC2")["BackupJobs"]) == 3
    future = datetime.now(UTC) + timedelta(days=1)
    assert len(backup.list_backup_jobs(ByCreatedBefore=future)["BackupJobs"]) == 3
    assert backup.list_backup_jobs(ByCreatedAfter=future)["BackupJobs"] == []
    assert backup.list_backup_jobs(ByCompleteBefore=future)["BackupJobs"] == []
    page = backup.list_backup_jobs(MaxResults=2)
    assert len(page["BackupJobs"]) == 2
    rest = backup.list_backup_jobs(MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["BackupJobs"]) == 1
    assert "NextToken" not in rest
    admin.update_settings(backup_bytes_per_second=1e12)
    admin.advance_clock(1)
    assert len(backup.list_backup_jobs(ByState="COMPLETED", ByCompleteBefore=future)["BackupJobs"]) == 3


def test_describe_recovery_point_details(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, ec2 = clients()
    instance_id = make_instance(ec2)
    backup.create_backup_vault(BackupVaultName="main")
    created = admin.create_recovery_point(
        vault_name="main",
        instance_id=instance_id,
        age_days=10,
        lifecycle={"DeleteAfterDays": 35},
        backup_plan_id="plan-1",
    )
    point = backup.describe_recovery_point(
        BackupVaultName="main", RecoveryPointArn=created["RecoveryPointArn"]
    )
    assert point["Status"] == "COMPLETED"
    assert point["Lifecycle"] == {"DeleteAfterDays": 35}
    assert point["CalculatedLifecycle"]["DeleteAt"] - point["CreationDate"] == timedelta(days=35)
    assert point["CreatedBy"]["BackupPlanId"] == "plan-1"
    assert point["IsEncrypted"] is False
    assert point["VaultType"] == "BACKUP_VAULT"
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])
    assert point["BackupSizeInBytes"] == sum(v["Size"] for v in volumes["Volumes"]) * GIB
    assert datetime.now(UTC) - point["CreationDate"] > timedelta(days=9)
    with pytest.raises(ClientError) as missing:
        backup.describe_recovery_point(
            BackupVaultName="main", RecoveryPointArn="arn:aws:ec2:us-east-1::image/ami-00000000000000000"
        )
    assert error_code(missing) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as other_account:
        backup.describe_recovery_point(
            BackupVaultName="main",
            RecoveryPointArn=created["RecoveryPointArn"],
            BackupVaultAccountId="999999999999",
        )
    assert error_code(other_account) == "ResourceNotFoundException"


def test_delete_recovery_point_removes_ami_and_snapshots(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    backup, ec2 = clients()
    instance_id = make_instance(ec2)
    backup.create_backup_vault(BackupVaultName="main")
    keep = admin.create_recovery_point(vault_name="main", instance_id=instance_id, age_days=2)
    gone = admin.create_recovery_point(vault_name="main", instance_id=instance_id, age_days=1)
    image = ec2.describe_images(ImageIds=[gone["ImageId"]])["Images"][0]
    snapshot_ids = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
    assert backup.describe_backup_vault(BackupVaultName="main")["NumberOfRecoveryPoints"] == 2

    reply = backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=gone["RecoveryPointArn"])
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200

    with pytest.raises(ClientError) as described:
        backup.describe_recovery_point(BackupVaultName="main", RecoveryPointArn=gone["RecoveryPointArn"])
    assert error_code(described) == "ResourceNotFoundException"
    assert (
        ec2.describe_images(Owners=["self"], Filters=[{"Name": "image-id", "Values": [gone["ImageId"]]}])[
            "Images"
        ]
        == []
    )
    remaining = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert not remaining & set(snapshot_ids)
    assert backup.describe_backup_vault(BackupVaultName="main")["NumberOfRecoveryPoints"] == 1
    arns = [
        p["RecoveryPointArn"]
        for p in backup.list_recovery_points_by_backup_vault(BackupVaultName="main")["RecoveryPoints"]
    ]
    assert arns == [keep["RecoveryPointArn"]]
    with pytest.raises(ClientError) as again:
        backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=gone["RecoveryPointArn"])
    assert error_code(again) == "ResourceNotFoundException"


def test_delete_of_a_creating_point_is_refused(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, _ = clients()
    backup.create_backup_vault(BackupVaultName="main")
    point = admin.create_recovery_point(vault_name="main", status="CREATING")
    with pytest.raises(ClientError) as refused:
        backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"])
    assert error_code(refused) == "InvalidResourceStateException"


def test_vault_lock_minimum_retention_refuses_delete(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, _ = clients()
    backup.create_backup_vault(BackupVaultName="locked")
    backup.put_backup_vault_lock_configuration(BackupVaultName="locked", MinRetentionDays=7)
    young = admin.create_recovery_point(vault_name="locked", age_days=3)
    old = admin.create_recovery_point(vault_name="locked", age_days=8)
    with pytest.raises(ClientError) as refused:
        backup.delete_recovery_point(BackupVaultName="locked", RecoveryPointArn=young["RecoveryPointArn"])
    assert error_code(refused) == "InvalidRequestException"
    assert "minimum retention" in refused.value.response["Error"]["Message"]
    backup.describe_recovery_point(BackupVaultName="locked", RecoveryPointArn=young["RecoveryPointArn"])
    backup.delete_recovery_point(BackupVaultName="locked", RecoveryPointArn=old["RecoveryPointArn"])
    admin.advance_clock(5 * 86400)
    backup.delete_recovery_point(BackupVaultName="locked", RecoveryPointArn=young["RecoveryPointArn"])
    assert backup.describe_backup_vault(BackupVaultName="locked")["NumberOfRecoveryPoints"] == 0


def test_silent_expire_answers_200_and_keeps_the_point(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, ec2 = clients()
    backup.create_backup_vault(BackupVaultName="main")
    point = admin.create_recovery_point(vault_name="main")
    admin.add_fault("DeleteRecoveryPoint", "silent_expire", times=1)
    reply = backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"])
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    described = backup.describe_recovery_point(
        BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"]
    )
    assert described["Status"] == "EXPIRED"
    assert ec2.describe_images(ImageIds=[point["ImageId"]])["Images"]
    # fired once: the next delete goes through
    backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"])
    with pytest.raises(ClientError):
        backup.describe_recovery_point(BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"])


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("access_denied", "AccessDeniedException", 403), ("throttle", "ThrottlingException", 400)],
)
def test_delete_faults_raise_the_aws_error(
    aws_env: dict[str, str], admin: SandboxAdmin, kind: str, code: str, status: int
) -> None:
    backup, _ = clients(retry=False)
    backup.create_backup_vault(BackupVaultName="main")
    target = admin.create_recovery_point(vault_name="main")
    other = admin.create_recovery_point(vault_name="main")
    admin.add_fault("DeleteRecoveryPoint", kind, resources=[target["RecoveryPointArn"]])
    with pytest.raises(ClientError) as failed:
        backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=target["RecoveryPointArn"])
    assert error_code(failed) == code
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    backup.describe_recovery_point(BackupVaultName="main", RecoveryPointArn=target["RecoveryPointArn"])
    backup.delete_recovery_point(
        BackupVaultName="main", RecoveryPointArn=other["RecoveryPointArn"]
    )  # not targeted
    admin.clear_faults()
    backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=target["RecoveryPointArn"])


def test_faults_on_listing_and_custom_errors(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, _ = clients(retry=False)
    backup.create_backup_vault(BackupVaultName="main")
    admin.add_fault("ListRecoveryPointsByBackupVault", "throttle", times=1)
    with pytest.raises(ClientError) as throttled:
        backup.list_recovery_points_by_backup_vault(BackupVaultName="main")
    assert error_code(throttled) == "ThrottlingException"
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="main")["RecoveryPoints"] == []
    admin.add_fault("DescribeBackupJob", "error", code="ServiceUnavailableException", status=503, times=1)
    with pytest.raises(ClientError) as unavailable:
        backup.describe_backup_job(BackupJobId="x")
    assert error_code(unavailable) == "ServiceUnavailableException"
    assert unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    fired = admin.faults()
    assert [f["fired"] for f in fired] == [1, 1]


def test_list_tags_of_ec2_points_is_refused_unless_the_setting_allows_it(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    """AWS's ListTags documentation: for an ARN other than arn:aws:backup "it may return one of the
    exceptions listed below" — the sandbox refuses; the setting brings back the point's tags."""
    backup, _ = clients()
    point = admin.create_recovery_point(vault_name="main", create_vault=True, tags={"team": "web"})
    arn = point["RecoveryPointArn"]
    missing = "arn:aws:ec2:us-east-1::image/ami-00000000000000000"
    for resource in (arn, missing):
        with pytest.raises(ClientError) as refused:
            backup.list_tags(ResourceArn=resource)
        assert error_code(refused) == "InvalidParameterValueException"
        assert "arn:aws:backup" in refused.value.response["Error"]["Message"]
    admin.update_settings(list_tags_of_ec2_points=True)
    assert backup.list_tags(ResourceArn=arn)["Tags"]["team"] == "web"
    with pytest.raises(ClientError) as not_found:
        backup.list_tags(ResourceArn=missing)
    assert error_code(not_found) == "ResourceNotFoundException"


def test_reset_clears_points_jobs_settings_clock_and_faults(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    backup, ec2 = clients()
    backup.create_backup_vault(BackupVaultName="main")
    instance_id = make_instance(ec2)
    backup.start_backup_job(BackupVaultName="main", ResourceArn=instance_arn(instance_id), IamRoleArn=ROLE)
    admin.create_recovery_point(vault_name="main")
    admin.update_settings(backup_bytes_per_second=5.0)
    admin.advance_clock(3600)
    admin.add_fault("DeleteRecoveryPoint", "throttle")
    admin.reset()
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    assert backup.list_backup_jobs()["BackupJobs"] == []
    assert admin.settings()["backup_bytes_per_second"] != 5.0
    assert admin.clock()["offset_seconds"] == 0
    assert admin.faults() == []
    backup.create_backup_vault(BackupVaultName="main")
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="main")["RecoveryPoints"] == []


def test_only_an_empty_vault_can_be_deleted(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup, _ = clients()
    backup.create_backup_vault(BackupVaultName="main")
    point = admin.create_recovery_point(vault_name="main")
    with pytest.raises(ClientError) as refused:
        backup.delete_backup_vault(BackupVaultName="main")
    assert error_code(refused) == "InvalidRequestException"
    backup.delete_recovery_point(BackupVaultName="main", RecoveryPointArn=point["RecoveryPointArn"])
    backup.delete_backup_vault(BackupVaultName="main")
    with pytest.raises(ClientError) as missing:
        backup.delete_backup_vault(BackupVaultName="main")
    assert error_code(missing) == "ResourceNotFoundException"

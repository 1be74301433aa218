"""The sandbox's admin API over HTTP (``/_coldvault/…``) through :class:`SandboxAdmin`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from coldvault.sandbox.admin import AdminError, SandboxAdmin
from coldvault.sandbox.server import SandboxServer

pytestmark = pytest.mark.integration


def test_settings_get_and_update(admin: SandboxAdmin) -> None:
    before = admin.settings()
    assert before["size_scale"] > 0
    after = admin.update_settings(store_bytes_per_second=123.0, size_scale=0.5)
    assert after["store_bytes_per_second"] == 123.0
    assert admin.settings()["size_scale"] == 0.5
    with pytest.raises(AdminError) as unknown:
        admin.update_settings(no_such_setting=1)
    assert unknown.value.status == 400
    assert "no_such_setting" in str(unknown.value)


def test_clock_only_moves_forward(admin: SandboxAdmin) -> None:
    start = datetime.fromisoformat(admin.clock()["now"])
    moved = datetime.fromisoformat(admin.advance_clock(86400)["now"])
    assert moved - start >= timedelta(days=1)
    assert admin.clock()["offset_seconds"] == 86400
    with pytest.raises(AdminError):
        admin.advance_clock(-5)


def test_faults_add_list_clear(admin: SandboxAdmin) -> None:
    added = admin.add_fault("DeleteRecoveryPoint", "silent_expire", resources=["arn:x"], times=2)
    assert added["fired"] == 0
    assert [f["kind"] for f in admin.faults()] == ["silent_expire"]
    with pytest.raises(AdminError):
        admin.add_fault("DeleteRecoveryPoint", "throttle", bogus=True)
    admin.clear_faults()
    assert admin.faults() == []


def test_recovery_point_admin(aws_env: dict[str, str], admin: SandboxAdmin) -> None:
    backup = boto3.client("backup")
    with pytest.raises(AdminError) as no_vault:
        admin.create_recovery_point(vault_name="main")
    assert no_vault.value.status == 404
    created = admin.create_recovery_point(
        vault_name="main", create_vault=True, status="PARTIAL", volume_sizes_gib=[8, 200], tags={"Name": "x"}
    )
    assert created["Status"] == "PARTIAL"
    assert created["BackupSizeInBytes"] == 208 * 1024**3
    arn = created["RecoveryPointArn"]
    when = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)
    admin.backdate_recovery_point(vault_name="main", arn=arn, creation_date=when.isoformat())
    described = backup.describe_recovery_point(BackupVaultName="main", RecoveryPointArn=arn)
    assert described["CreationDate"] == when
    image = boto3.client("ec2").describe_images(ImageIds=[created["ImageId"]])["Images"][0]
    assert image["CreationDate"].startswith("2025-03-01T05:00")
    admin.set_recovery_point_status(vault_name="main", arn=arn, status="EXPIRED", status_message="gone")
    admin.set_recovery_point_lifecycle(vault_name="main", arn=arn, lifecycle={"DeleteAfterDays": 7})
    described = backup.describe_recovery_point(BackupVaultName="main", RecoveryPointArn=arn)
    assert described["Status"] == "EXPIRED"
    assert described["StatusMessage"] == "gone"
    assert described["CalculatedLifecycle"]["DeleteAt"] == when + timedelta(days=7)
    with pytest.raises(AdminError):
        admin.set_recovery_point_status(vault_name="main", arn=arn, status="BROKEN")
    with pytest.raises(AdminError) as missing:
        admin.backdate_recovery_point(vault_name="main", arn="arn:nope", age_days=3)
    assert missing.value.status == 404
    summary = admin.state()
    assert summary["vaults"] == {"main": {"EXPIRED": 1}}


def test_unknown_endpoint_and_bad_body(sandbox: SandboxServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(f"{sandbox.endpoint_url}/_coldvault/nothing-here")
    assert unknown.value.code == 404
    assert "known:" in json.loads(unknown.value.read())["error"]
    request = urllib.request.Request(
        f"{sandbox.endpoint_url}/_coldvault/settings", data=b"not json", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(request)
    assert bad.value.code == 400

"""The catalogue's reading of manifests and its filters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coldvault.aws.s3_glacier import ArchiveState, RestoreStatus
from coldvault.catalog import Listed, ListFilter, entry_from_manifest

KEY = "recovery-points/123456789012/us-east-1/i-0abc/2026/01/02/ami-0123456789abcdef0.bin"


def manifest(**ami: Any) -> dict[str, Any]:
    return {
        "schema": "coldvault.manifest/1",
        "ami_id": "ami-0123456789abcdef0",
        "recovery_point": {
            "arn": "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0",
            "vault_name": "v",
            "resource_arn": "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
            "creation_date": "2026-01-02T05:00:00+00:00",
            "is_encrypted": False,
            "tags": {"Name": "from-point"},
        },
        "ami": {
            "id": "ami-0123456789abcdef0",
            "name": "AwsBackup_i-0abc_x",
            "description": "This AMI is created by AWS Backup",
            "block_devices": [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {"VolumeSize": 8, "VolumeType": "gp3", "Encrypted": False},
                },
                {
                    "DeviceName": "/dev/xvdb",
                    "Ebs": {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": True},
                },
                {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
            ],
            "tags": {"Name": "web"},
            **ami,
        },
        "archive": {"bucket": "b", "key": KEY, "storage_class": "GLACIER", "size": 1234},
        "verification": {"verified": True, "at": "2026-02-01T00:00:00+00:00"},
    }


def test_entry_from_manifest() -> None:
    e = entry_from_manifest("b", "catalog/ami/ami-0123456789abcdef0.json", manifest())
    assert (e.ami_id, e.archive_key, e.storage_class, e.archive_size) == (
        "ami-0123456789abcdef0", KEY, "GLACIER", 1234,
    )  # fmt: skip
    assert (e.instance_id, e.source_account, e.source_region) == ("i-0abc", "123456789012", "us-east-1")
    assert e.created == datetime(2026, 1, 2, 5, tzinfo=UTC)
    assert e.archived_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert e.ami_tags == {"Name": "web"}
    assert [d["device"] for d in e.block_devices] == ["/dev/xvda", "/dev/xvdb"]  # instance store skipped
    assert e.encrypted  # one encrypted snapshot is enough


def test_manifest_without_ami_details_uses_the_recovery_point_tags() -> None:
    doc = manifest()
    doc["ami"] = None
    e = entry_from_manifest("b", "k", doc)
    assert e.ami_tags == {"Name": "from-point"}
    assert e.block_devices == ()
    assert not e.encrypted


def test_filters() -> None:
    e = entry_from_manifest("b", "k", manifest())
    assert ListFilter().matches(e)
    assert ListFilter(instance_id="i-0abc", storage_class="GLACIER").matches(e)
    assert not ListFilter(instance_id="i-0def").matches(e)
    assert not ListFilter(storage_class="DEEP_ARCHIVE").matches(e)
    assert ListFilter(since=datetime(2026, 1, 2, tzinfo=UTC)).matches(e)
    assert not ListFilter(since=datetime(2026, 1, 3, tzinfo=UTC)).matches(e)
    assert not ListFilter(until=datetime(2026, 1, 2, 5, tzinfo=UTC)).matches(e)


def test_listing_restore_states() -> None:
    e = entry_from_manifest("b", "k", manifest())
    expiry = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert Listed(e, None).restore_state == "archive missing"
    assert Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.NONE)).restore_state == "none"
    assert (
        Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.IN_PROGRESS)).restore_state == "in progress"
    )
    row = Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.READABLE, expiry))
    assert row.restore_state == "readable until 2026-03-01 12:30Z"
    assert tuple(row.to_json()) == Listed.json_fields()

"""The catalogue's view of manifests and its filters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from coldvault.aws.s3_glacier import ArchiveState, RestoreStatus
from coldvault.catalog import Listed, ListFilter
from coldvault.manifest import BlockDevice
from tests.support.manifests import ARCHIVE_KEY as KEY
from tests.support.manifests import a_manifest

DEVICES = (
    BlockDevice("/dev/xvda", snapshot_id="snap-1", volume_size_gib=8, volume_type="gp3", encrypted=False),
    BlockDevice("/dev/xvdb", snapshot_id="snap-2", volume_size_gib=100, volume_type="gp3", encrypted=True),
    BlockDevice("/dev/sdc", virtual_name="ephemeral0"),
)


def test_what_a_restore_reads_from_a_manifest() -> None:
    e = a_manifest(devices=DEVICES, image_tags={"Name": "web"}, point_tags={"Name": "from-point"})
    assert (e.instance_id, e.created) == ("i-0abc", datetime(2026, 1, 2, 5, tzinfo=UTC))
    assert e.image_tags == {"Name": "web"}
    assert [d.device_name for d in e.ebs_devices] == ["/dev/xvda", "/dev/xvdb"]  # instance store skipped
    assert e.ebs_devices[1].summary() == {
        "device": "/dev/xvdb", "size_gib": 100, "volume_type": "gp3", "encrypted": True,
    }  # fmt: skip
    assert e.encrypted  # one encrypted snapshot is enough
    assert e.key == "catalog/ami/ami-0123456789abcdef0.json"


def test_manifest_without_ami_details_uses_the_recovery_point_tags() -> None:
    e = a_manifest(with_image=False, point_tags={"Name": "from-point"})
    assert e.image_tags == {"Name": "from-point"}
    assert (e.ebs_devices, e.image_name) == ((), "")
    assert not e.encrypted
    assert a_manifest(with_image=False, encrypted=True).encrypted


def test_filters() -> None:
    e = a_manifest()
    assert ListFilter().matches(e)
    assert ListFilter(instance_id="i-0abc", storage_class="GLACIER").matches(e)
    assert not ListFilter(instance_id="i-0def").matches(e)
    assert not ListFilter(storage_class="DEEP_ARCHIVE").matches(e)
    assert ListFilter(since=datetime(2026, 1, 2, tzinfo=UTC)).matches(e)
    assert not ListFilter(since=datetime(2026, 1, 3, tzinfo=UTC)).matches(e)
    assert not ListFilter(until=datetime(2026, 1, 2, 5, tzinfo=UTC)).matches(e)


def test_listing_restore_states() -> None:
    e = a_manifest()
    expiry = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert Listed(e, None).restore_state == "archive missing"
    assert Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.NONE)).restore_state == "none"
    assert (
        Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.IN_PROGRESS)).restore_state == "in progress"
    )
    row = Listed(e, ArchiveState(KEY, "GLACIER", 1, RestoreStatus.READABLE, expiry))
    assert row.restore_state == "readable until 2026-03-01 12:30Z"
    assert tuple(row.to_json()) == Listed.json_fields()
    assert row.to_json()["archived_at"] == "2026-02-01T00:00:00+00:00"

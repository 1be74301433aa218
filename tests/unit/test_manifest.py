"""The manifest (pure): round trip of schema v2, reading v1 as earlier versions wrote it, named errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldvault import keys, manifest
from coldvault.aws.ec2 import ImageInfo
from coldvault.aws.s3 import ObjectInfo
from coldvault.manifest import (
    SCHEMA,
    SCHEMA_V1,
    Archive,
    BlockDevice,
    Deletion,
    DeletionState,
    Image,
    Manifest,
    ManifestError,
    Staging,
    Verification,
)
from coldvault.models import PointWork, RecoveryPoint
from tests.support.manifests import a_manifest

# A manifest exactly as coldvault wrote it before schema 2 (captured from an archive run on the sandbox).
V1 = json.loads((Path(__file__).parent / "data" / "manifest_v1.json").read_text())

names = st.text(min_size=1, max_size=20)
texts = st.text(max_size=20)
string_maps = st.dictionaries(texts, texts, max_size=4)
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
sizes = st.integers(min_value=0, max_value=2**63)
maybe_ints = st.none() | st.integers(min_value=0, max_value=2**31)
maybe_bools = st.none() | st.booleans()

points = st.builds(
    RecoveryPoint,
    arn=names,
    vault_name=names,
    resource_arn=names,
    resource_type=texts,
    status=texts,
    creation_date=times,
    backup_size_bytes=sizes,
    completion_date=st.none() | times,
    delete_at=st.none() | times,
    move_to_cold_storage_at=st.none() | times,
    status_message=texts,
    iam_role_arn=texts,
    backup_plan_id=texts,
    is_encrypted=st.booleans(),
    tags=string_maps,
)
devices = st.builds(
    BlockDevice,
    device_name=names,
    virtual_name=texts,
    snapshot_id=texts,
    volume_size_gib=st.integers(min_value=0, max_value=65536),
    volume_type=texts,
    encrypted=maybe_bools,
    kms_key_id=texts,
    iops=maybe_ints,
    throughput=maybe_ints,
    delete_on_termination=maybe_bools,
)
images = st.builds(
    Image,
    ami_id=names,
    name=texts,
    description=texts,
    architecture=texts,
    root_device_type=texts,
    virtualization_type=texts,
    block_devices=st.lists(devices, max_size=3).map(tuple),
    tags=string_maps,
)
manifests = st.builds(
    Manifest,
    ami_id=names,
    run_id=texts,
    recovery_point=points,
    tags_error=texts,
    image=st.none() | images,
    archive=st.builds(
        Archive,
        bucket=names,
        key=names,
        storage_class=names,
        size=sizes,
        etag=texts,
        checksum_crc64nvme=texts,
        checksum_type=texts,
        metadata=string_maps,
        copy_seconds=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    ),
    staging=st.builds(Staging, key=names, size=sizes, etag=texts),
    verification=st.builds(
        Verification,
        verified=st.booleans(),
        at=times,
        size_matches=st.booleans(),
        storage_class_matches=st.booleans(),
        checksum_recorded=st.booleans(),
        content_checked=st.booleans(),
    ),
    deletion=st.builds(Deletion, state=st.sampled_from(DeletionState), reason=texts, at=st.none() | times),
)


@given(manifests)
def test_round_trip_through_json_text(m: Manifest) -> None:
    doc = json.loads(json.dumps(m.to_json()))
    assert doc["schema"] == SCHEMA == "coldvault.manifest/2"
    assert Manifest.from_json(doc) == m


def test_reads_a_v1_manifest_as_earlier_versions_wrote_it() -> None:
    m = Manifest.from_json(V1)
    ami = "ami-b4f99f4f100d2612f"
    assert (m.ami_id, m.run_id, m.key) == (ami, "507a8da95e4d", keys.manifest_key(ami))
    assert m.recovery_point.arn == f"arn:aws:ec2:us-east-1::image/{ami}"
    assert m.recovery_point.creation_date == datetime(2026, 11, 2, 3, 59, tzinfo=UTC)
    assert m.recovery_point.backup_size_bytes == 515396075520
    assert m.recovery_point.tags["team"] == "data"
    # the v1 "source" part is what the recovery point's resource ARN says
    source = V1["source"]
    assert (m.recovery_point.source_account, m.recovery_point.source_region, m.instance_id) == (
        source["account"], source["region"], source["instance_id"],
    )  # fmt: skip
    assert m.image is not None
    assert m.image.name == V1["ami"]["name"]
    assert m.image.block_devices[0] == BlockDevice(
        "/dev/sda1",
        snapshot_id="snap-840e5505440b51153",
        volume_size_gib=30,
        volume_type="gp3",
        encrypted=False,
        delete_on_termination=True,
    )
    assert [d.volume_size_gib for d in m.ebs_devices] == [30, 250, 200]
    assert (m.archive.key, m.archive.size) == (V1["archive"]["key"], 515396)
    assert (m.archive.checksum_crc64nvme, m.archive.metadata) == ("Gy8wtyGXhMg=", V1["archive"]["metadata"])
    assert m.staging == Staging(key=keys.staging_key(ami), size=515396, etag=V1["staging"]["etag"])
    assert m.verification.verified
    assert m.verification.at == datetime.fromisoformat(V1["verification"]["at"])
    assert m.deletion_confirmed
    assert m.deletion.reason == "confirmed by DescribeRecoveryPoint"
    assert manifest.is_verified(m, V1["archive"]["key"])
    assert not manifest.is_verified(m, "recovery-points/other.bin")


def test_a_v1_manifest_loses_nothing_when_rewritten_as_v2() -> None:
    """Every v1 field is kept (renamed where v2 renames it), except the derived ``source`` part."""
    v2 = json.loads(json.dumps(Manifest.from_json(V1).to_json()))
    assert Manifest.from_json(v2) == Manifest.from_json(V1)
    expected = copy.deepcopy(V1)
    del expected["source"]
    expected["schema"] = SCHEMA
    ami = expected.pop("ami")
    devices = ami.pop("block_devices")
    assert {k: v for k, v in v2["image"].items() if k != "block_devices"} == ami
    for raw, typed in zip(devices, v2["image"]["block_devices"], strict=True):
        ebs = raw["Ebs"]
        assert (typed["device_name"], typed["snapshot_id"], typed["volume_size_gib"]) == (
            raw["DeviceName"], ebs["SnapshotId"], ebs["VolumeSize"],
        )  # fmt: skip
        assert (typed["volume_type"], typed["encrypted"], typed["delete_on_termination"]) == (
            ebs["VolumeType"], ebs["Encrypted"], ebs["DeleteOnTermination"],
        )  # fmt: skip
    del v2["image"]
    assert v2 == expected


def test_reads_a_v1_manifest_before_deletion_and_without_ami_details() -> None:
    doc = copy.deepcopy(V1)
    doc["ami"] = None  # DescribeImages did not find the AMI at verification
    doc["deletion"] = {"state": "pending", "reason": "not attempted yet", "at": None}
    m = Manifest.from_json(doc)
    assert m.image is None
    assert m.image_tags == V1["recovery_point"]["tags"]
    assert m.deletion == Deletion()
    assert not m.deletion_confirmed


def test_build_records_what_verification_saw() -> None:
    point = a_manifest().recovery_point
    work = PointWork(point=point, archive_key=keys.archive_key(point), manifest_key="unused", run_id="r1")
    archive = ObjectInfo(work.archive_key, 100, '"e"', "GLACIER", {"m": "1"}, "crc", "FULL_OBJECT")
    staging = ObjectInfo(keys.staging_key(point.ami_id), 100, '"s"', "STANDARD")
    k = "kms-key"
    ebs = {"VolumeSize": 8, "Encrypted": True, "KmsKeyId": k}
    image = ImageInfo(
        ami_id=point.ami_id, name="n", description="d", state="available", owner_id="1",
        root_device_type="ebs", virtualization_type="hvm", architecture="arm64",
        block_devices=[{"DeviceName": "/dev/xvda", "Ebs": ebs}],
        tags={"Name": "web"},
    )  # fmt: skip
    at = datetime(2026, 5, 1, tzinfo=UTC)
    m = manifest.build(
        work, bucket="b", archive=archive, staging=staging, image=image, point_tags={"t": "1"},
        tags_error="", verified_at=at, content_checked=True, copy_seconds=1.23456,
    )  # fmt: skip
    assert m.key == keys.manifest_key(point.ami_id)
    assert m.archive == Archive(
        "b", work.archive_key, "GLACIER", 100, '"e"', "crc", "FULL_OBJECT", {"m": "1"}, 1.235
    )
    assert (m.recovery_point.tags, m.run_id) == ({"t": "1"}, "r1")
    assert m.image is not None
    assert m.image.block_devices == (
        BlockDevice("/dev/xvda", volume_size_gib=8, encrypted=True, kms_key_id=k),
    )
    assert m.encrypted
    assert m.verification == Verification(True, at, True, True, True, True)
    assert m.deletion == Deletion(DeletionState.PENDING, "not attempted yet", None)
    assert Manifest.from_json(json.loads(json.dumps(m.to_json()))) == m


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(V1)
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "is not an object"),
        ({}, "schema None"),
        (_broken(lambda d: d.update(schema="coldvault.manifest/9")), "schema 'coldvault.manifest/9'"),
        (_broken(lambda d: d["archive"].pop("key")), "'archive.key' is missing"),
        (_broken(lambda d: d["archive"].update(size="big")), "'archive.size' is not a int"),
        (_broken(lambda d: d["archive"].update(size=True)), "'archive.size' is not an integer"),
        (_broken(lambda d: d.pop("verification")), "'verification' is not an object"),
        (_broken(lambda d: d["verification"].update(at="yesterday")), "'verification.at' is not an ISO"),
        (_broken(lambda d: d["deletion"].update(state="maybe")), "'deletion.state' is not pending|confirmed"),
        (_broken(lambda d: d["recovery_point"].pop("creation_date")), "'recovery_point.creation_date'"),
        (_broken(lambda d: d["ami"]["block_devices"].append("x")), "'ami.block_devices[]' is not an object"),
    ],
)
def test_an_unreadable_manifest_is_a_named_error(doc: Any, message: str) -> None:
    with pytest.raises(ManifestError) as exc:
        Manifest.from_json(doc)
    assert message in exc.value.one_line()


def test_v1_and_v2_are_the_schemas_read() -> None:
    assert manifest.READABLE_SCHEMAS == (SCHEMA, SCHEMA_V1)
    assert V1["schema"] == SCHEMA_V1

"""Manifests written by earlier versions (schema 1) in a real bucket: listed, looked up, and a pending
deletion recorded on one finishes and rewrites it as schema 2 without losing anything."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from coldvault import keys
from coldvault.manifest import SCHEMA, SCHEMA_V1, Manifest
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    archivable_fleet,
    archive_args,
    assert_invariants,
    manifests,
    points,
    run_inprocess,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def as_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """The same manifest as coldvault wrote it before schema 2 (see tests/unit/data/manifest_v1.json)."""
    v1 = copy.deepcopy(doc)
    v1["schema"] = SCHEMA_V1
    image = v1.pop("image")
    if image is not None:
        names = {
            "snapshot_id": "SnapshotId", "volume_size_gib": "VolumeSize", "volume_type": "VolumeType",
            "encrypted": "Encrypted", "kms_key_id": "KmsKeyId", "iops": "Iops", "throughput": "Throughput",
            "delete_on_termination": "DeleteOnTermination",
        }  # fmt: skip
        mappings = []
        for d in image.pop("block_devices"):
            mapping: dict[str, Any] = {"DeviceName": d["device_name"]}
            if d["virtual_name"]:
                mapping["VirtualName"] = d["virtual_name"]
            ebs = {aws: d[ours] for ours, aws in names.items() if d[ours] not in (None, "")}
            if ebs:
                mapping["Ebs"] = ebs
            mappings.append(mapping)
        v1["ami"] = {**image, "block_devices": mappings}
    resource = doc["recovery_point"]["resource_arn"].split(":")
    v1["source"] = {"account": resource[4], "region": resource[3], "instance_id": resource[5].split("/")[1]}
    return v1


def test_a_v1_manifest_is_listed_and_its_pending_deletion_finishes_as_v2(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin, months=2)
    bad, good = sorted(a.rsplit("/", 1)[-1] for a in points())
    admin.add_fault("DeleteRecoveryPoint", "access_denied", resources=[bad])
    assert run_inprocess(archive_args()) == 1  # bad is retained: its deletion is pending
    s3 = boto3.client("s3")
    written = manifests()
    for ami in (bad, good):
        body = json.dumps(as_v1(written[ami])).encode()
        s3.put_object(Bucket=BUCKET, Key=keys.manifest_key(ami), Body=body)
    assert {d["schema"] for d in manifests().values()} == {SCHEMA_V1}
    before = Manifest.from_json(manifests()[bad])
    assert before == Manifest.from_json(written[bad])
    capsys.readouterr()

    assert run_inprocess(["--output", "json", "list", "--bucket", BUCKET]) == 0
    rows = {r["ami_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {bad, good}
    assert rows[bad]["archive_key"] == before.archive.key
    assert rows[bad]["instance_id"] == before.instance_id

    admin.clear_faults()
    assert run_inprocess(archive_args()) == 0
    assert points() == {}
    after = manifests()
    assert after[bad]["schema"] == SCHEMA, "recording the deletion rewrote it as v2"
    assert after[good]["schema"] == SCHEMA_V1, "a settled v1 manifest is left as it is"
    confirmed = Manifest.from_json(after[bad])
    assert confirmed.deletion_confirmed
    assert confirmed.recovery_point == before.recovery_point
    assert (confirmed.image, confirmed.archive, confirmed.verification) == (
        before.image, before.archive, before.verification,
    )  # fmt: skip
    assert_invariants()

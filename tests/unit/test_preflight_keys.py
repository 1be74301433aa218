"""preflight.key_problems on the answers the sandbox cannot give (it enforces no key policy): a key
whose policy denies this role is named with the fix; a key that is fine gives no problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coldvault import preflight
from coldvault.aws.ec2 import ImageInfo
from coldvault.aws.kms import KeyInfo
from coldvault.clock import ManualClock
from coldvault.errors import AccessDenied
from coldvault.pipeline.services import Services

DENIED = "arn:aws:kms:us-east-1:111122223333:key/denied"
FINE = "arn:aws:kms:us-east-1:111122223333:key/fine"


@dataclass
class FakeEc2:
    keys: dict[str, str]
    asked: list[list[str]] = field(default_factory=list)

    def snapshot_keys(self, snapshot_ids: list[str]) -> dict[str, str]:
        self.asked.append(list(snapshot_ids))
        return {s: self.keys[s] for s in snapshot_ids if s in self.keys}


@dataclass
class FakeKms:
    described: list[str] = field(default_factory=list)

    def describe_key(self, key_id: str) -> KeyInfo:
        self.described.append(key_id)
        if key_id == DENIED:
            raise AccessDenied(
                "DescribeKey: AccessDeniedException: not allowed", code="AccessDeniedException"
            )
        return KeyInfo(arn=key_id, state="Enabled", manager="CUSTOMER")


def _image(ami: str, *snapshots: tuple[str, bool]) -> ImageInfo:
    devices: list[dict[str, Any]] = [
        {"DeviceName": f"/dev/sd{chr(97 + i)}", "Ebs": {"SnapshotId": s, "Encrypted": enc, "VolumeSize": 8}}
        for i, (s, enc) in enumerate(snapshots)
    ]
    return ImageInfo(ami, "n", "", "available", "111122223333", "ebs", "hvm", "x86_64", devices)


def test_a_denied_key_names_the_key_the_snapshots_and_the_fix() -> None:
    ec2 = FakeEc2({"snap-a": DENIED, "snap-b": DENIED, "snap-c": FINE})
    kms = FakeKms()
    svc = Services(
        backup=None, ec2=ec2, s3=None, sqs=None, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), kms=kms
    )  # type: ignore[arg-type]
    images = {
        "ami-1": _image("ami-1", ("snap-a", True), ("snap-b", True)),
        "ami-2": _image("ami-2", ("snap-c", True), ("snap-d", False)),
        "ami-3": _image("ami-3", ("snap-e", False)),
    }
    problems = preflight.key_problems(svc, images)
    assert set(problems) == {"ami-1"}
    assert problems["ami-1"] == (
        f"snapshot snap-a, snap-b: KMS key {DENIED} may not be used by this role (DescribeKey denied): "
        "its key policy must allow this role (docs/cloud.md, KMS keys)"
    )
    assert ec2.asked == [["snap-a", "snap-b", "snap-c"]]  # unencrypted snapshots are not looked up
    assert sorted(kms.described) == [DENIED, FINE]  # each key once


def test_no_encrypted_snapshot_means_no_call() -> None:
    ec2, kms = FakeEc2({}), FakeKms()
    svc = Services(
        backup=None, ec2=ec2, s3=None, sqs=None, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), kms=kms
    )  # type: ignore[arg-type]
    assert preflight.key_problems(svc, {"ami-3": _image("ami-3", ("snap-e", False))}) == {}
    assert ec2.asked == []
    assert kms.described == []

"""Restore-test evidence in the catalogue: one record per test of one archive.

``catalog/restore-tests/<ami-id>/<yyyymmddThhmmssZ>.json`` (:func:`coldvault.keys.restore_test_key`),
schema ``coldvault.restore-test/1``: ``ami_id``, ``at``, ``region``, ``bucket``, ``succeeded``, the
restored AMI's id, the checks made (name → passed), whether the restored AMI and its snapshots were
removed (``cleaned_up``) and the ``error`` when it failed. Records are never rewritten: each test adds
one. The audit reads them with one listing of the prefix and one GetObject per record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3

SCHEMA = "coldvault.restore-test/1"


@dataclass(frozen=True)
class RestoreTest:
    ami_id: str
    at: datetime
    succeeded: bool
    region: str = ""
    bucket: str = ""
    restored_ami_id: str = ""
    checks: dict[str, bool] = field(default_factory=dict)
    cleaned_up: bool = False
    error: str = ""

    @property
    def key(self) -> str:
        return keys.restore_test_key(self.ami_id, self.at)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "ami_id": self.ami_id,
            "at": self.at.astimezone(UTC).isoformat(),
            "succeeded": self.succeeded,
            "region": self.region,
            "bucket": self.bucket,
            "restored_ami_id": self.restored_ami_id,
            "checks": dict(self.checks),
            "cleaned_up": self.cleaned_up,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RestoreTest | None:
        """A record; None when ``doc`` is not one (the audit flags it)."""
        if doc.get("schema") != SCHEMA or not isinstance(doc.get("ami_id"), str):
            return None
        try:
            at = datetime.fromisoformat(str(doc.get("at")))
        except ValueError:
            return None
        checks = doc.get("checks") or {}
        return cls(
            ami_id=str(doc["ami_id"]),
            at=at if at.tzinfo else at.replace(tzinfo=UTC),
            succeeded=doc.get("succeeded") is True,
            region=str(doc.get("region") or ""),
            bucket=str(doc.get("bucket") or ""),
            restored_ami_id=str(doc.get("restored_ami_id") or ""),
            checks={str(k): bool(v) for k, v in checks.items()} if isinstance(checks, Mapping) else {},
            cleaned_up=doc.get("cleaned_up") is True,
            error=str(doc.get("error") or ""),
        )


def write(s3: S3, bucket: str, record: RestoreTest) -> str:
    s3.put_json(bucket, record.key, record.to_json())
    return record.key


def read_all(s3: S3, bucket: str) -> tuple[dict[str, list[RestoreTest]], list[str]]:
    """Every record by AMI id, oldest first, and the keys that are not readable records."""
    found: dict[str, list[RestoreTest]] = {}
    bad: list[str] = []
    for key in s3.iter_keys(bucket, keys.RESTORE_TEST_PREFIX):
        ami = keys.ami_of_restore_test_key(key)
        doc = s3.get_json(bucket, key) if ami else None
        record = RestoreTest.from_json(doc) if doc is not None else None
        if ami is None or record is None or record.ami_id != ami:
            bad.append(key)
            continue
        found.setdefault(ami, []).append(record)
    for records in found.values():
        records.sort(key=lambda r: r.at)
    return found, bad


def proven(tests: Mapping[str, list[RestoreTest]], region: str) -> RestoreTest | None:
    """The latest successful restore test in ``region`` (any Region when ``region`` is empty)."""
    ok = [t for ts in tests.values() for t in ts if t.succeeded and (not region or t.region == region)]
    return max(ok, key=lambda t: t.at) if ok else None

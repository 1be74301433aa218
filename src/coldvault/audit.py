"""The audit: every archive's chain of custody from the catalogue, checked against S3 and AWS Backup.

Read-only, and its calls are counted (:attr:`AuditResult.calls`): one listing of the manifests, one of
the archive keys and one of the restore-test records, one GetObject per manifest and per record, one
HeadObject per archive (exists, class, size, checksum, Object Lock) and one DescribeRecoveryPoint per
recovery point whose deletion the catalogue says was confirmed (it must be gone or ``DELETING``).

A :class:`Finding` is an inconsistency an auditor must see; any finding makes ``coldvault audit`` exit 1.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from coldvault import keys, manifest, restore_evidence
from coldvault.aws.backup import Backup
from coldvault.aws.s3 import S3, ObjectInfo
from coldvault.manifest import Manifest, ManifestError
from coldvault.restore_evidence import RestoreTest

LOCK_SLACK = timedelta(seconds=1)  # S3 keeps retain-until dates to the second


class Kind(enum.StrEnum):
    ARCHIVE_WITHOUT_MANIFEST = "archive without manifest"
    MANIFEST_WITHOUT_ARCHIVE = "manifest without archive"
    UNREADABLE_MANIFEST = "unreadable manifest"
    NOT_VERIFIED = "archive not verified"
    CLASS_DIFFERS = "storage class differs"
    SIZE_DIFFERS = "size differs"
    CHECKSUM_DIFFERS = "checksum differs"
    POINT_STILL_IN_VAULT = "recovery point still in the vault after deletion"
    LOCK_SHORTER = "lock shorter than the policy"
    LOCK_MODE_DIFFERS = "lock mode differs from the policy"
    NO_RESTORE_TEST = "no successful restore test within the policy's period"
    UNREADABLE_EVIDENCE = "unreadable restore-test record"


@dataclass(frozen=True)
class Policy:
    """What the archives are checked against (``retain_days`` 0 / ``restore_test_days`` 0: no requirement)."""

    retain_days: int = 0
    retention_mode: str = ""  # GOVERNANCE | COMPLIANCE; "" checks no mode
    restore_test_days: int = 90
    since: datetime | None = None  # only archives of recovery points created on/after

    def to_json(self) -> dict[str, Any]:
        return {
            "retain_days": self.retain_days,
            "retention_mode": self.retention_mode or None,
            "restore_test_days": self.restore_test_days,
            "since": self.since.isoformat() if self.since else None,
        }


@dataclass(frozen=True)
class Finding:
    kind: Kind
    subject: str  # an AMI id, or a key for what has no manifest
    detail: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind.name.lower(),
            "title": self.kind.value,
            "subject": self.subject,
            "detail": self.detail,
        }


def verification_method(m: Manifest) -> str:
    """How the archive was verified, in words (docs/verification.md)."""
    v = m.verification
    parts = []
    if v.size_matches:
        parts.append("size equals the staging object")
    if v.storage_class_matches:
        parts.append(f"class {m.archive.storage_class} confirmed")
    if v.checksum_recorded:
        parts.append(f"S3 {m.archive.checksum_type or 'FULL_OBJECT'} CRC64NVME recorded")
    if v.content_checked:
        parts.append("content compared with the staging object")
    return "HeadObject: " + ", ".join(parts) if parts else "not verified"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@dataclass
class ArchiveAudit:
    """One archive: its manifest, what S3 and Backup say now, its restore tests and findings."""

    manifest: Manifest
    head: ObjectInfo | None
    point_now: str  # "not checked" | "gone" | the recovery point's status
    restore_tests: list[RestoreTest] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        m, h = self.manifest, self.head
        store = m.store
        return {
            "ami_id": m.ami_id,
            "recovery_point_arn": m.recovery_point.arn,
            "vault": m.recovery_point.vault_name,
            "instance_id": m.instance_id,
            "created": _iso(m.created),
            "run_id": m.run_id,
            "store_started_at": _iso(store.started_at) if store else None,
            "store_completed_at": _iso(store.completed_at) if store else None,
            "archive_key": m.archive.key,
            "storage_class": m.archive.storage_class,
            "size_bytes": m.archive.size,
            "checksum_crc64nvme": m.archive.checksum_crc64nvme,
            "verified_at": _iso(m.verification.at),
            "verified_by": verification_method(m),
            "deletion_state": m.deletion.state.value,
            "deletion_confirmed_at": _iso(m.deletion.at) if m.deletion_confirmed else None,
            "deletion_reason": "" if m.deletion_confirmed else m.deletion.reason,
            "recovery_point_now": self.point_now,
            "s3_exists": h is not None,
            "s3_storage_class": h.storage_class if h else None,
            "s3_size_bytes": h.size if h else None,
            "lock_mode": (h.lock_mode or None) if h else None,
            "lock_retain_until": _iso(h.lock_until) if h else None,
            "restore_tests": [
                {"at": _iso(t.at), "succeeded": t.succeeded, "region": t.region, "error": t.error}
                for t in self.restore_tests
            ],
            "findings": [f.kind.name.lower() for f in self.findings],
        }


@dataclass
class AuditResult:
    bucket: str
    region: str
    checked_at: datetime
    policy: Policy
    archives: list[ArchiveAudit]
    findings: list[Finding]  # every finding, the archives' included
    latest_restore_test: RestoreTest | None
    calls: Counter[str]

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, Any]:
        heads = [a.head for a in self.archives if a.head is not None]
        locked = sum(1 for h in heads if h.lock_mode)
        return {
            "archives": len(self.archives),
            "bytes": sum(a.manifest.archive.size for a in self.archives),
            "deletion_confirmed": sum(1 for a in self.archives if a.manifest.deletion_confirmed),
            "locked": locked,
            "unlocked": len(heads) - locked,
            "restore_tested": sum(1 for a in self.archives if any(t.succeeded for t in a.restore_tests)),
            "findings": len(self.findings),
        }

    def to_json(self) -> dict[str, Any]:
        latest = self.latest_restore_test
        return {
            "bucket": self.bucket,
            "region": self.region,
            "checked_at": self.checked_at.isoformat(),
            "policy": self.policy.to_json(),
            "ok": self.ok,
            "summary": self.summary(),
            "latest_successful_restore_test": (
                {"ami_id": latest.ami_id, "at": _iso(latest.at), "region": latest.region} if latest else None
            ),
            "findings": [f.to_json() for f in self.findings],
            "archives": [a.to_json() for a in self.archives],
            "api_calls": dict(sorted(self.calls.items())),
        }


def _key_date(key: str) -> datetime | None:
    """The recovery point's creation day an archive key carries (``.../<yyyy>/<mm>/<dd>/<ami>.bin``)."""
    parts = key.split("/")
    try:
        return datetime(int(parts[-4]), int(parts[-3]), int(parts[-2]), tzinfo=UTC)
    except (IndexError, ValueError):
        return None


class Auditor:
    """Reads the catalogue, S3 and Backup once each as documented above; never writes."""

    def __init__(self, s3: S3, backup: Backup, bucket: str, region: str) -> None:
        self.s3, self.backup, self.bucket, self.region = s3, backup, bucket, region
        self.calls: Counter[str] = Counter()

    def _list(self, prefix: str) -> list[str]:
        self.calls["ListObjectsV2"] += 1  # at least one page
        return list(self.s3.iter_keys(self.bucket, prefix))

    def _manifests(self, findings: list[Finding]) -> list[Manifest]:
        found = []
        for key in self._list(keys.MANIFEST_PREFIX):
            if keys.ami_of_manifest_key(key) is None:
                continue
            self.calls["GetObject"] += 1
            try:
                entry = manifest.read(self.s3, self.bucket, key)
            except (ManifestError, ValueError) as exc:
                findings.append(Finding(Kind.UNREADABLE_MANIFEST, key, str(exc)))
                continue
            if entry is not None:
                found.append(entry)
        return found

    def _point_now(self, m: Manifest) -> str:
        if not m.deletion_confirmed:
            return "not checked"
        self.calls["DescribeRecoveryPoint"] += 1
        point = self.backup.describe_recovery_point(m.recovery_point.vault_name, m.recovery_point.arn)
        return "gone" if point is None else (point.status or "present")

    def _check(self, a: ArchiveAudit, policy: Policy) -> None:
        m, h, add = a.manifest, a.head, a.findings.append
        if not m.verified:
            add(Finding(Kind.NOT_VERIFIED, m.ami_id, f"{m.key} does not record a verified archive"))
        if h is None:
            add(
                Finding(
                    Kind.MANIFEST_WITHOUT_ARCHIVE, m.ami_id, f"s3://{self.bucket}/{m.archive.key} is missing"
                )
            )
        else:
            if h.storage_class != m.archive.storage_class:
                add(
                    Finding(
                        Kind.CLASS_DIFFERS,
                        m.ami_id,
                        f"S3 says {h.storage_class}, the manifest {m.archive.storage_class}",
                    )
                )
            if h.size != m.archive.size:
                add(
                    Finding(
                        Kind.SIZE_DIFFERS, m.ami_id, f"S3 says {h.size} bytes, the manifest {m.archive.size}"
                    )
                )
            if m.archive.checksum_crc64nvme and h.checksum and h.checksum != m.archive.checksum_crc64nvme:
                add(
                    Finding(
                        Kind.CHECKSUM_DIFFERS,
                        m.ami_id,
                        f"S3 says {h.checksum}, the manifest {m.archive.checksum_crc64nvme}",
                    )
                )
            if policy.retain_days:
                required = m.created + timedelta(days=policy.retain_days)
                if h.lock_until is None or h.lock_until + LOCK_SLACK < required:
                    held = f"locked until {h.lock_until:%Y-%m-%d}" if h.lock_until else "not locked"
                    add(
                        Finding(
                            Kind.LOCK_SHORTER,
                            m.ami_id,
                            f"{held}; the policy keeps it until {required:%Y-%m-%d}",
                        )
                    )
            if policy.retention_mode and h.lock_mode and h.lock_mode != policy.retention_mode:
                add(Finding(Kind.LOCK_MODE_DIFFERS, m.ami_id, f"{h.lock_mode}, not {policy.retention_mode}"))
        if a.point_now not in ("gone", "DELETING", "not checked"):
            add(
                Finding(
                    Kind.POINT_STILL_IN_VAULT,
                    m.ami_id,
                    f"{m.recovery_point.arn} is {a.point_now} in {m.recovery_point.vault_name} though its "
                    f"deletion was confirmed {_iso(m.deletion.at)}",
                )
            )

    def run(self, policy: Policy, now: datetime) -> AuditResult:
        findings: list[Finding] = []
        entries = [m for m in self._manifests(findings) if policy.since is None or m.created >= policy.since]
        archive_keys = [k for k in self._list(keys.ARCHIVE_PREFIX) if keys.is_archive_key(k)]
        self.calls["ListObjectsV2"] += 1
        tests, bad = restore_evidence.read_all(self.s3, self.bucket)
        self.calls["GetObject"] += sum(len(t) for t in tests.values()) + len(bad)
        findings += [Finding(Kind.UNREADABLE_EVIDENCE, key, "not a restore-test record") for key in bad]
        audits = []
        for m in sorted(entries, key=lambda e: (e.created, e.ami_id)):
            self.calls["HeadObject"] += 1
            head = self.s3.head(self.bucket, m.archive.key)
            audit = ArchiveAudit(m, head, self._point_now(m), tests.get(m.ami_id, []))
            self._check(audit, policy)
            findings += audit.findings
            audits.append(audit)
        catalogued = {m.archive.key for m in entries}
        for key in archive_keys:
            day = _key_date(key)
            if key in catalogued or (policy.since and day and day < policy.since.replace(hour=0, minute=0)):
                continue
            findings.append(
                Finding(Kind.ARCHIVE_WITHOUT_MANIFEST, key, f"s3://{self.bucket}/{key} has no manifest")
            )
        latest = restore_evidence.proven(tests, self.region)
        if policy.restore_test_days and (
            latest is None or latest.at < now - timedelta(days=policy.restore_test_days)
        ):
            last = f"the last one was {latest.at:%Y-%m-%d}" if latest else "none has succeeded yet"
            findings.append(
                Finding(
                    Kind.NO_RESTORE_TEST,
                    self.bucket,
                    f"none in the last {policy.restore_test_days} days in {self.region} ({last}); "
                    "run 'coldvault restore-test --sample 1'",
                )
            )
        return AuditResult(self.bucket, self.region, now, policy, audits, findings, latest, self.calls)

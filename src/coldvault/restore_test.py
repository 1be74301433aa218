"""Restore testing: restore an archive through the restore engine, check the AMI against the manifest,
record the result as evidence, then remove the AMI and its snapshots and confirm they are gone.

::

    choose       the archives to test: named ones, or a sample (never tested first, then least recently)
    prepare      the restore engine's own read-only preparation, for the costs and waits shown first
    restore_and_check
                 run_restore (Glacier restore when needed, CreateRestoreImageTask, wait until available)
                 -> checks -> DeregisterImage + DeleteSnapshot -> DescribeImages/DescribeSnapshots
                 -> catalog/restore-tests/<ami-id>/<time>.json (coldvault.restore_evidence)

A restore test never touches an AMI it did not make: when an AMI restored from the archive already
exists (a user's restore), that archive is skipped with the reason, never adopted and deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coldvault import restore_evidence
from coldvault.aws.s3 import S3
from coldvault.catalog import Catalog
from coldvault.errors import ColdvaultError, UsageError
from coldvault.manifest import Manifest
from coldvault.pipeline.services import Services
from coldvault.pricing import Prices
from coldvault.restore.engine import estimate_for, run_restore
from coldvault.restore.policy import Estimate, RestoreOptions, Stage
from coldvault.restore.steps import RESTORED_FROM, RestoreWork, prepare
from coldvault.restore_evidence import RestoreTest

NAME_PREFIX = "coldvault-restore-test-"


@dataclass
class TrialResult:
    entry: Manifest
    record: RestoreTest | None = None
    skipped: str = ""  # why the archive was not tested
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.record is not None and self.record.succeeded

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "ami_id": self.entry.ami_id,
            "archive_key": self.entry.archive.key,
            "outcome": "skipped" if self.skipped else ("succeeded" if self.ok else "failed"),
            "skipped": self.skipped,
            "restored_ami_id": r.restored_ami_id if r else "",
            "checks": r.checks if r else {},
            "cleaned_up": r.cleaned_up if r else False,
            "error": r.error if r else "",
            "evidence_key": r.key if r else "",
        }


def _test_name(entry: Manifest, run_id: str) -> str:
    return f"{NAME_PREFIX}{entry.ami_id}-{run_id}"


def _foreign_images(svc: Services, entry: Manifest) -> list[str]:
    """AMIs restored from this archive that a restore test did not make."""
    found = svc.ec2.find_images(tags={RESTORED_FROM: entry.archive.key})
    return [i.ami_id for i in found if not i.name.startswith(NAME_PREFIX)]


def choose(catalog: Catalog, s3: S3, refs: Sequence[str], sample: int) -> list[Manifest]:
    """The named archives, or ``sample`` of them: never tested first, then least recently tested, oldest."""
    if refs:
        return [catalog.find(ref) for ref in refs]
    entries = [e for e in catalog.entries() if e.verified]
    if not entries:
        raise UsageError(f"no archive in s3://{catalog.bucket} to test", hint="archive something first")
    tests, _ = restore_evidence.read_all(s3, catalog.bucket)

    def last(entry: Manifest) -> str:
        done = tests.get(entry.ami_id, [])
        return done[-1].at.isoformat() if done else ""

    return sorted(entries, key=lambda e: (last(e), e.created, e.ami_id))[:sample]


def estimates(
    svc: Services, options: RestoreOptions, entries: Sequence[Manifest], bucket: str, prices: Prices | None
) -> list[tuple[RestoreWork, Estimate]]:
    """What the restore engine would do for each (read only): the costs and waits shown first."""
    found = []
    for entry in entries:
        work = prepare(svc, options, entry.ami_id, bucket=bucket)
        found.append((work, estimate_for(work, prices)))
    return found


def _checks(svc: Services, entry: Manifest, work: RestoreWork) -> dict[str, bool]:
    image = svc.ec2.describe_image(work.image_id)
    checks = {"available": image is not None and image.state == "available"}
    if image is None:
        return checks
    want = sorted((d.device_name, d.volume_size_gib, d.volume_type) for d in entry.ebs_devices)
    got = sorted(d.layout() for d in image.devices)
    checks["block_device_layout"] = [(n, s) for n, s, _ in want] == [(n, s) for n, s, _ in got]
    checks["volume_types"] = [t for *_, t in want] == [t for *_, t in got] or not any(t for *_, t in want)
    kept = {
        k: v for k, v in entry.image_tags.items() if k not in work.tags_dropped and not k.startswith("aws:")
    }
    checks["tags"] = all(image.tags.get(k) == v for k, v in kept.items())
    return checks


def _clean_up(svc: Services, work: RestoreWork) -> tuple[bool, str]:
    """Deregister the restored AMI (and a plain one), delete their snapshots, and confirm both."""
    images = [i for i in (work.image_id, work.plain_image_id) if i]
    snapshots: list[str] = []
    for ami in images:
        described = svc.ec2.describe_image(ami)
        if described is not None:
            snapshots += [d.snapshot_id for d in described.devices if d.snapshot_id]
        svc.ec2.deregister_image(ami)
    left = [a for a in images if (i := svc.ec2.describe_image(a)) is not None and i.state != "deregistered"]
    kept = svc.ec2.existing_snapshots(snapshots) if snapshots else set()
    if left or kept:
        return False, f"still there after clean-up: {', '.join([*left, *sorted(kept)])}"
    return True, ""


def restore_and_check(
    svc: Services,
    options: RestoreOptions,
    entry: Manifest,
    *,
    bucket: str,
    run_id: str,
    progress: Callable[[RestoreWork], None] | None = None,
) -> TrialResult:
    """Restore, check, record, clean up one archive; a failure is recorded, never raised."""
    foreign = _foreign_images(svc, entry)
    if foreign:
        return TrialResult(
            entry, skipped=f"an AMI restored from it exists ({', '.join(foreign)}); not touched"
        )
    named = RestoreOptions(**{**options.__dict__, "name": _test_name(entry, run_id)})
    started = svc.clock.now()
    work: RestoreWork | None = None
    checks: dict[str, bool] = {}
    error = ""
    try:
        work = run_restore(
            svc,
            named,
            entry.ami_id,
            bucket=bucket,
            wait=True,
            confirm=lambda _w, _e: None,
            progress=progress,
            run_id=run_id,
        )
        if work.stage is not Stage.DONE:
            error = f"the restore stopped at {work.stage.value}"
        else:
            checks = _checks(svc, entry, work)
            failed = [name for name, ok in checks.items() if not ok]
            error = f"checks failed: {', '.join(failed)}" if failed else ""
    except ColdvaultError as exc:
        error = exc.one_line()
    cleaned, left = (False, "")
    if work is not None and (work.image_id or work.plain_image_id):
        cleaned, left = _clean_up(svc, work)
    elif work is None:
        cleaned = True  # nothing was made
    record = RestoreTest(
        ami_id=entry.ami_id,
        at=started,
        succeeded=not error and cleaned,
        region=svc.region,
        bucket=bucket,
        restored_ami_id=work.image_id if work else "",
        checks=checks,
        cleaned_up=cleaned,
        error="; ".join(e for e in (error, left) if e),
    )
    restore_evidence.write(svc.s3, bucket, record)
    return TrialResult(entry, record=record, checks=checks)

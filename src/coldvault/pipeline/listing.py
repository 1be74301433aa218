"""Step 1: list the vault and select the candidates (read-only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from itertools import islice

from coldvault import keys, manifest, preflight
from coldvault.config import Settings
from coldvault.errors import AwsError, NotFound, PreflightError
from coldvault.models import SkipReason
from coldvault.periods import PeriodTracker, SelectPolicy
from coldvault.pipeline.services import Services
from coldvault.pricing import Prices
from coldvault.savings.breakeven import compression_ratio
from coldvault.savings.estimate import RANGE, Savings, estimate_savings
from coldvault.selection import Plan, Skipped, VaultRules, select

COMPRESSION_SAMPLE = 10  # manifests read to learn this bucket's archive size per source byte


def archived_amis(svc: Services, bucket: str) -> set[str]:
    """AMI ids with a manifest in the catalogue (one listing, not one request per point)."""
    try:
        found = (keys.ami_of_manifest_key(k) for k in svc.s3.iter_keys(bucket, keys.MANIFEST_PREFIX))
        return {ami for ami in found if ami}
    except NotFound as exc:
        raise PreflightError(
            f"bucket {bucket!r} does not exist", hint="create it or pass the right --bucket"
        ) from exc


def list_candidates(
    svc: Services, settings: Settings, prices: Prices | None = None, *, measure_savings: bool | None = None
) -> Plan:
    """The plan: candidates (largest first is the runner's business) and skipped points with reasons.

    ``--select`` keeps only each period's last point per instance; the candidates' savings are then
    measured (:mod:`coldvault.savings`; always for ``plan``, which passes ``measure_savings``, else only
    with ``--only-if-saves``) and, with ``--only-if-saves``, those whose archive would cost more than
    keeping them are skipped with their figures.

    The listing is streamed (paginator) over the whole vault, so younger points of an instance are
    seen (they share snapshot blocks: the cost estimate says so); only candidates, skipped points and
    the set of instances keeping points are kept in memory.
    """
    try:
        vault = svc.backup.describe_vault(settings.vault)
    except NotFound as exc:
        raise PreflightError(
            f"backup vault {settings.vault!r} does not exist", hint="check --vault and --region"
        ) from exc
    warnings: list[str] = []
    holds: set[str] = set()
    try:
        holds = svc.backup.legal_hold_points(vault.arn)
    except AwsError as exc:
        warnings.append(
            f"legal holds could not be checked ({exc.code or exc.message}); a held point fails at delete"
        )
    archived = archived_amis(svc, settings.bucket)
    periods = None
    if settings.select is not SelectPolicy.ALL:
        periods = PeriodTracker(settings.select)
        periods.see_archived(_archives(svc, settings.bucket))
    rules = VaultRules(
        min_retention_days=vault.min_retention_days if vault.locked or vault.min_retention_days else None,
        legal_holds=frozenset(holds),
    )
    plan = select(
        svc.backup.iter_recovery_points(settings.vault),
        cutoff=settings.cutoff,
        now=svc.clock.now(),
        archived=archived,
        rules=rules,
        include_undeletable=settings.include_undeletable,
        periods=periods,
    )
    plan.warnings.extend(warnings)
    _drop_unstorable(svc, settings, plan)
    if settings.only_if_saves if measure_savings is None else measure_savings:
        _apply_savings(svc, settings, plan, prices or Prices(), archived)
    _resume_pending_deletions(svc, settings, plan)
    return plan


def _archives(svc: Services, bucket: str) -> Iterator[tuple[str, datetime, str]]:
    """(instance, creation day, AMI) of every archive in the bucket, from one listing of the keys."""
    for key in svc.s3.iter_keys(bucket, keys.ARCHIVE_PREFIX):
        parsed = keys.parse_archive_key(key)
        if parsed is not None:
            yield parsed


def _learned_compression(svc: Services, bucket: str, archived: set[str]) -> float | None:
    """Archive bytes per source byte over the newest few manifests, when plausible."""
    pairs = []
    for ami in islice(sorted(archived, reverse=True), COMPRESSION_SAMPLE):
        record = manifest.read(svc.s3, bucket, keys.manifest_key(ami))
        if record is not None and record.recovery_point.backup_size_bytes:
            pairs.append((record.archive.size, record.recovery_point.backup_size_bytes))
    return compression_ratio(pairs)


def _apply_savings(svc: Services, settings: Settings, plan: Plan, prices: Prices, archived: set[str]) -> None:
    """Measure what archiving each new candidate saves; with only-if-saves, skip those that do not pay."""
    fresh = [p for p in plan.candidates if p.ami_id not in plan.resuming]
    if not fresh:
        return
    learned = _learned_compression(svc, settings.bucket, archived) if archived else None
    if svc.ebs is None:
        plan.savings = Savings(method=RANGE, fallback_reason="no EBS direct API client")
        return
    savings = estimate_savings(
        fresh,
        backup=svc.backup,
        ec2=svc.ec2,
        ebs=svc.ebs,
        vault=settings.vault,
        storage_class=settings.storage_class.value,
        prices=prices,
        now=svc.clock.now(),
        retain_days=settings.retain_days,
        only_if_saves=settings.only_if_saves,
        source_compression=learned,
    )
    plan.savings = savings
    if savings.method == RANGE:
        plan.warnings.append(
            "what archiving frees is a range: the EBS direct APIs could not be used "
            f"({savings.fallback_reason})"
        )
    keep = {c.point.ami_id: c.reason for c in savings.candidates if not c.archive}
    if not keep:
        return
    plan.candidates = [p for p in plan.candidates if p.ami_id not in keep]
    for point in fresh:
        if point.ami_id in keep:
            plan.skipped.append(Skipped(point, SkipReason.COSTS_MORE, keep[point.ami_id]))
            plan.instances_kept.add(point.instance_id)


def _resume_pending_deletions(svc: Services, settings: Settings, plan: Plan) -> None:
    """Archived points whose deletion was never confirmed and that the listing did not show (deleted
    by a run that stopped before recording it): candidates again, so the delete step confirms them."""
    markers = svc.s3.iter_keys(settings.bucket, keys.PENDING_DELETION_PREFIX)
    pending = {ami for ami in map(keys.ami_of_pending_deletion_key, markers) if ami}
    if not pending:
        return
    # A point being deleted (DELETING) with its deletion unrecorded: confirm and record it.
    plan.skipped = [
        s for s in plan.skipped if not (s.reason is SkipReason.ALREADY_ARCHIVED and s.point.ami_id in pending)
    ]
    seen = {p.ami_id for p in plan.candidates} | {s.point.ami_id for s in plan.skipped}
    for ami in sorted(pending - seen):
        record = manifest.read(svc.s3, settings.bucket, keys.manifest_key(ami))
        if record is None or record.recovery_point.vault_name != settings.vault:
            continue
        plan.candidates.append(replace(record.recovery_point, tags={}))
        plan.resuming.add(ami)


def _drop_unstorable(svc: Services, settings: Settings, plan: Plan) -> None:
    """Move points whose AMI EC2 cannot store to the skipped list (already archived ones stay)."""
    to_check = [p.ami_id for p in plan.candidates if p.ami_id not in plan.resuming]
    if not to_check:
        return
    images = svc.ec2.describe_images(to_check)
    unusable_keys = preflight.key_problems(svc, images)
    kept = []
    for point in plan.candidates:
        if point.ami_id in plan.resuming:
            kept.append(point)
            continue
        image = images.get(point.ami_id)
        problem = "AMI not found" if image is None else image.storable_problem(settings.account_id or None)
        problem = problem or unusable_keys.get(point.ami_id, "")
        if problem:
            plan.skipped.append(Skipped(point, SkipReason.NOT_STORABLE, problem))
            plan.instances_kept.add(point.instance_id)
        else:
            kept.append(point)
    plan.candidates = kept

"""Step 1: list the vault and select the candidates (read-only)."""

from __future__ import annotations

from dataclasses import replace

from coldvault import keys, manifest, preflight
from coldvault.config import Settings
from coldvault.errors import AwsError, NotFound, PreflightError
from coldvault.models import SkipReason
from coldvault.pipeline.services import Services
from coldvault.selection import Plan, Skipped, VaultRules, select


def archived_amis(svc: Services, bucket: str) -> set[str]:
    """AMI ids with a manifest in the catalogue (one listing, not one request per point)."""
    try:
        found = (keys.ami_of_manifest_key(k) for k in svc.s3.iter_keys(bucket, keys.MANIFEST_PREFIX))
        return {ami for ami in found if ami}
    except NotFound as exc:
        raise PreflightError(
            f"bucket {bucket!r} does not exist", hint="create it or pass the right --bucket"
        ) from exc


def list_candidates(svc: Services, settings: Settings) -> Plan:
    """The plan: candidates (largest first is the runner's business) and skipped points with reasons.

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
    )
    plan.warnings.extend(warnings)
    _drop_unstorable(svc, settings, plan)
    _resume_pending_deletions(svc, settings, plan)
    return plan


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

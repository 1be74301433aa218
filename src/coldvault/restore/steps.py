"""The restore steps: an archive back to a launchable AMI, each step idempotent.

The same functions serve both engines: the CLI (:func:`run_restore`, in-process, waiting on an
injected :class:`~coldvault.clock.Clock`) and the restore state machine (one Lambda handler per
step, see ``cloud/restore_handlers.py``). State crossing a step boundary is a
:class:`RestoreWork`, plain JSON.

::

    prepare      manifest (catalogue) + HeadObject + DescribeImages by tag      read only
    thaw         RestoreObject for GLACIER / DEEP_ARCHIVE (attaches to a running one)
    check_thaw   HeadObject until the Restore header says readable              -> next_poll_seconds
    start_image  CreateRestoreImageTask, tags at creation (an AMI restored before is adopted)
    check_image  DescribeImages until available                                 -> next_poll_seconds
    encrypt      CopyImage(Encrypted) when the original was encrypted, then the plain image is removed
    publish      status message (SQS) + report under logs/

Idempotency: every AMI this makes carries ``coldvault:restored-from`` = the archive key from the
moment it exists, so :func:`prepare` finds one made before (pending or available) and follows it
instead of making another; a Glacier restore already running is attached to, never requested twice.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from coldvault.aws.ec2 import ImageInfo
from coldvault.aws.s3_glacier import ArchiveState, RestoreRequest, RestoreStatus
from coldvault.catalog import Catalog
from coldvault.errors import (
    ImageNameTaken,
    RestoreDeadlineExceeded,
    RestoreFailed,
    UsageError,
)
from coldvault.pipeline.services import Services
from coldvault.restore.policy import (
    RestoreOptions,
    Stage,
    default_name,
    image_tags,
    next_image_poll,
    next_thaw_poll,
)

RESTORED_FROM = "coldvault:restored-from"
SOURCE_RECOVERY_POINT = "coldvault:source-recovery-point"
RESTORE_STAGE = "coldvault:restore-stage"  # only on the plain image of an encrypted restore
PLAIN_STAGE = "unencrypted"
FAILED_IMAGE_STATES = frozenset({"failed", "error", "invalid", "deregistered", "disabled"})


@dataclass(frozen=True)
class RestoreWork:
    """One archive's progress back to an AMI (a Step Functions payload: small, plain JSON)."""

    bucket: str
    archive_key: str
    manifest_key: str
    source_ami_id: str
    recovery_point_arn: str
    storage_class: str
    size_bytes: int
    tier: str
    days: int
    name: str
    explicit_name: bool  # given by the user: taken by another AMI is an error, not a reason to vary it
    tags: dict[str, str]
    tags_dropped: list[str]
    encrypt: bool  # the original was encrypted: the restored AMI must be too
    kms_key_id: str
    run_id: str
    started_at: str
    deadline_at: str
    stage: Stage = Stage.RESOLVED
    thaw: str = ""  # how the Glacier restore went: requested | attached | not needed
    thaw_requested_at: str = ""
    image_id: str = ""
    plain_image_id: str = ""  # the unencrypted image an encrypted copy is made from
    image_state: str = ""
    encrypted: bool = False
    encryption_verified: bool = False
    adopted: bool = False  # an AMI restored from this archive before was returned
    next_poll_seconds: float = 0.0
    polls: int = 0
    error: str = ""
    error_type: str = ""
    block_devices: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["stage"] = self.stage.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestoreWork:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["stage"] = Stage(values.get("stage", Stage.RESOLVED))
        return cls(**values)

    @property
    def final(self) -> bool:
        return self.stage in (Stage.DONE, Stage.FAILED)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _check_deadline(svc: Services, work: RestoreWork, what: str) -> None:
    if svc.clock.now() >= _when(work.deadline_at):
        raise RestoreDeadlineExceeded(
            f"{what} for {work.archive_key} not done by the deadline {work.deadline_at}",
            hint="run the restore again later: it attaches to the work already in progress",
        )


def _ours(images: list[ImageInfo]) -> tuple[ImageInfo | None, ImageInfo | None]:
    """(final image, plain image of an encrypted restore) among images restored from one archive."""
    live = [i for i in images if i.state not in FAILED_IMAGE_STATES]
    final = next((i for i in live if i.tags.get(RESTORE_STAGE) != PLAIN_STAGE), None)
    plain = next((i for i in live if i.tags.get(RESTORE_STAGE) == PLAIN_STAGE), None)
    return final, plain


def prepare(
    svc: Services, options: RestoreOptions, ref: str, *, bucket: str, run_id: str | None = None
) -> RestoreWork:
    """Resolve ``ref`` in the catalogue and check everything before any change (read only)."""
    options.validate()
    region = svc.s3.bucket_region(bucket)
    if region != svc.region:
        raise UsageError(
            f"bucket {bucket!r} is in {region}, not in {svc.region}: EC2 restores only from a bucket in its"
            " own Region",
            hint=f"run with --region {region}",
        )
    entry = Catalog(svc.s3.client, bucket).find(ref)
    state = svc.s3.head_archive(bucket, entry.archive.key)
    if state is None:
        raise UsageError(
            f"the archive s3://{bucket}/{entry.archive.key} named by {entry.key} does not exist",
            hint="check the bucket; 'coldvault list' shows each archive's state",
        )
    if options.tier == "Expedited" and state.storage_class == "DEEP_ARCHIVE":
        raise UsageError(
            f"{entry.ami_id} is in DEEP_ARCHIVE, which has no Expedited retrieval",
            hint="use --tier Standard (within 12 hours) or --tier Bulk (within 48 hours)",
        )
    now = svc.clock.now()
    name = options.name or default_name(entry)
    tags, dropped = image_tags(
        entry,
        extra={
            RESTORED_FROM: entry.archive.key,
            SOURCE_RECOVERY_POINT: entry.recovery_point.arn,
        },
    )
    work = RestoreWork(
        bucket=bucket,
        archive_key=entry.archive.key,
        manifest_key=entry.key,
        source_ami_id=entry.ami_id,
        recovery_point_arn=entry.recovery_point.arn,
        storage_class=state.storage_class,
        size_bytes=state.size or entry.archive.size,
        tier=options.tier if state.storage_class in ("GLACIER", "DEEP_ARCHIVE") else "",
        days=options.days,
        name=name,
        explicit_name=options.name is not None,
        tags=tags,
        tags_dropped=dropped,
        encrypt=entry.encrypted,
        kms_key_id=options.kms_key_id or "",
        run_id=run_id or uuid.uuid4().hex[:12],
        started_at=now.isoformat(),
        deadline_at=(now + timedelta(seconds=options.deadline_seconds)).isoformat(),
        block_devices=[d.summary() for d in entry.ebs_devices],
    )
    final, plain = _ours(svc.ec2.find_images(tags={RESTORED_FROM: entry.archive.key}))
    if final is not None:
        stage = Stage.IMAGING if not (work.encrypt and plain is not None) else Stage.ENCRYPTING
        return replace(
            work,
            stage=stage,
            image_id=final.ami_id,
            name=final.name,
            image_state=final.state,
            plain_image_id=plain.ami_id if plain else "",
            adopted=True,
            thaw="not needed",
        )
    if plain is not None:
        return replace(
            work,
            stage=Stage.IMAGING,
            plain_image_id=plain.ami_id,
            image_state=plain.state,
            adopted=True,
            thaw="not needed",
        )
    if not options.name:
        return work
    taken = svc.ec2.find_images(name=options.name)
    if taken:
        raise ImageNameTaken(
            f"an AMI named {options.name!r} already exists in {svc.region} ({taken[0].ami_id})",
            hint="pass --name with another name, or leave it out for a name derived from the archive",
        )
    return work


def _archive_state(svc: Services, work: RestoreWork) -> ArchiveState:
    """The archive's class, size and restore state; RestoreFailed when it is gone."""
    state = svc.s3.head_archive(work.bucket, work.archive_key)
    if state is None:
        raise RestoreFailed(f"the archive s3://{work.bucket}/{work.archive_key} disappeared")
    return state


def thaw(svc: Services, work: RestoreWork) -> RestoreWork:
    """Make the archive readable: ``RestoreObject`` once; a restore already running is attached to."""
    if work.stage is not Stage.RESOLVED:
        return work
    state = _archive_state(svc, work)
    now = svc.clock.now()
    if state.restore is RestoreStatus.READABLE:
        return replace(work, stage=Stage.READABLE, thaw=work.thaw or "not needed")
    if state.restore is RestoreStatus.IN_PROGRESS:
        outcome = RestoreRequest.ALREADY_IN_PROGRESS
    else:
        outcome = svc.s3.request_restore(work.bucket, work.archive_key, days=work.days, tier=work.tier)
    if outcome is RestoreRequest.EXPEDITED_UNAVAILABLE:
        # No Expedited capacity now (503): ask for Standard rather than fail or retry for an unknown
        # time; the restore then takes hours, which the tier recorded (and reported) says.
        work = replace(work, tier="Standard")
        outcome = svc.s3.request_restore(work.bucket, work.archive_key, days=work.days, tier=work.tier)
    if outcome is RestoreRequest.ALREADY_READABLE:
        return replace(work, stage=Stage.READABLE, thaw="not needed")
    attached = outcome is RestoreRequest.ALREADY_IN_PROGRESS
    after = svc.s3.head_archive(work.bucket, work.archive_key)  # an Expedited one may be done
    if after is not None and after.restore is RestoreStatus.READABLE:
        return replace(
            work,
            stage=Stage.READABLE,
            thaw="attached" if attached else "requested",
            thaw_requested_at=now.isoformat(),
        )
    return replace(
        work,
        stage=Stage.THAWING,
        thaw="attached" if attached else "requested",
        thaw_requested_at=now.isoformat(),
        next_poll_seconds=next_thaw_poll(
            work.storage_class, work.tier, 0.0, attached=attached, size_bytes=work.size_bytes
        ),
    )


def check_thaw(svc: Services, work: RestoreWork) -> RestoreWork:
    """Follow the ``Restore`` header: readable → next step; else when to look again."""
    if work.stage is not Stage.THAWING:
        return work
    state = _archive_state(svc, work)
    if state.restore is RestoreStatus.READABLE:
        return replace(work, stage=Stage.READABLE, polls=work.polls + 1, next_poll_seconds=0.0)
    if state.restore is RestoreStatus.NONE:  # the restored copy expired before it was used: ask again
        return thaw(svc, replace(work, stage=Stage.RESOLVED, polls=work.polls + 1))
    _check_deadline(svc, work, "the Glacier restore")
    elapsed = (svc.clock.now() - _when(work.thaw_requested_at)).total_seconds()
    wait = next_thaw_poll(
        work.storage_class, work.tier, elapsed, attached=work.thaw == "attached", size_bytes=work.size_bytes
    )
    remaining = (_when(work.deadline_at) - svc.clock.now()).total_seconds()
    return replace(work, polls=work.polls + 1, next_poll_seconds=max(1.0, min(wait, remaining)))


def _free_name(svc: Services, work: RestoreWork, base: str) -> str:
    """``base``, or the first free deterministic variant of it when another AMI has it."""
    for attempt in range(10):
        candidate = base if attempt == 0 else f"{base[: 128 - 3]}-{attempt + 1}"
        holders = svc.ec2.find_images(name=candidate)
        if not holders:
            return candidate
        if any(
            h.tags.get(RESTORED_FROM) == work.archive_key and h.state not in FAILED_IMAGE_STATES
            for h in holders
        ):
            return candidate  # ours, made by a run that crashed before recording it: adopted by the caller
    raise ImageNameTaken(
        f"the names {base!r} and its variants are all taken in {svc.region}", hint="pass --name"
    )


def start_image(svc: Services, work: RestoreWork) -> RestoreWork:
    """``CreateRestoreImageTask`` with the tags at creation (an image made before is adopted)."""
    if work.stage is not Stage.READABLE:
        return work
    plain = work.encrypt
    tags = dict(work.tags)
    name = work.name
    if plain:
        tags[RESTORE_STAGE] = PLAIN_STAGE
        name = f"{work.name[:116]}-unencrypted"
    final, plain_image = _ours(svc.ec2.find_images(tags={RESTORED_FROM: work.archive_key}))
    existing = plain_image if plain else final
    if existing is not None:
        return _imaging(work, existing.ami_id, existing.state, plain=plain, adopted=True)
    if not work.explicit_name:
        name = _free_name(svc, work, name)
    try:
        image_id = svc.ec2.create_restore_image_task(
            bucket=work.bucket, key=work.archive_key, name=name, tags=tags
        )
    except ImageNameTaken:
        # Another run may have just made it: adopt it if it is ours, else the name is really taken.
        final, plain_image = _ours(svc.ec2.find_images(tags={RESTORED_FROM: work.archive_key}))
        existing = plain_image if plain else final
        if existing is None:
            raise
        return _imaging(work, existing.ami_id, existing.state, plain=plain, adopted=True)
    final_name = work.name if plain else name
    return replace(_imaging(work, image_id, "pending", plain=plain, adopted=False), name=final_name)


def _imaging(work: RestoreWork, image_id: str, state: str, *, plain: bool, adopted: bool) -> RestoreWork:
    if plain:
        return replace(
            work,
            stage=Stage.IMAGING,
            plain_image_id=image_id,
            image_state=state,
            adopted=adopted,
            polls=0,
            next_poll_seconds=next_image_poll(0),
        )
    return replace(
        work,
        stage=Stage.IMAGING,
        image_id=image_id,
        image_state=state,
        adopted=adopted,
        polls=0,
        next_poll_seconds=next_image_poll(0),
    )


def check_image(svc: Services, work: RestoreWork) -> RestoreWork:
    """Follow the restored (or copied) AMI to ``available``; a failed AMI is a failure."""
    if work.stage not in (Stage.IMAGING, Stage.ENCRYPTING):
        return work
    followed = work.image_id or work.plain_image_id
    image = svc.ec2.describe_image(followed)
    if image is None or image.state in FAILED_IMAGE_STATES:
        state = image.state if image else "gone"
        reason = f": {image.state_reason}" if image and image.state_reason else ""
        raise RestoreFailed(f"the restored AMI {followed} is {state}{reason}")
    if image.state != "available":
        _check_deadline(svc, work, f"the AMI {followed}")
        return replace(
            work,
            image_state=image.state,
            polls=work.polls + 1,
            next_poll_seconds=next_image_poll(work.polls + 1),
        )
    if work.image_id:  # the final image is available
        if RESTORED_FROM not in image.tags:  # an API that dropped TagSpecifications: put them back
            svc.ec2.add_tags([image.ami_id], work.tags)
        if work.plain_image_id:
            svc.ec2.deregister_image(work.plain_image_id)
        verified = any(b.encrypted is not None for b in image.devices)
        if work.encrypt and verified and not image.encrypted:
            raise RestoreFailed(f"the copy {image.ami_id} of an encrypted AMI is not encrypted")
        return replace(
            work,
            stage=Stage.DONE,
            image_state="available",
            encrypted=image.encrypted or work.encrypt,
            encryption_verified=verified and image.encrypted,
            block_devices=[
                {
                    "device": b.device_name,
                    "size_gib": b.volume_size_gib,
                    "volume_type": b.volume_type,
                    "encrypted": b.encrypted,
                }
                for b in image.devices
            ],
            next_poll_seconds=0.0,
        )
    return replace(work, stage=Stage.ENCRYPT, image_state="available", next_poll_seconds=0.0)


def encrypt(svc: Services, work: RestoreWork) -> RestoreWork:
    """An encrypted copy of the plain restored AMI, under the final name and tags (idempotent)."""
    if work.stage is not Stage.ENCRYPT:
        return work
    final, _ = _ours(svc.ec2.find_images(tags={RESTORED_FROM: work.archive_key}))
    if final is not None:
        return replace(work, stage=Stage.ENCRYPTING, image_id=final.ami_id, image_state=final.state, polls=0)
    kms_key = work.kms_key_id or svc.ec2.default_kms_key()
    token = hashlib.sha256(f"{work.archive_key}|{work.plain_image_id}".encode()).hexdigest()[:64]
    image_id = svc.ec2.copy_image(
        source_image_id=work.plain_image_id,
        source_region=svc.region,
        name=work.name,
        description=f"Restored by coldvault from s3://{work.bucket}/{work.archive_key}",
        kms_key_id=kms_key or None,
        client_token=token,
        tags=work.tags,
    )
    return replace(
        work,
        stage=Stage.ENCRYPTING,
        image_id=image_id,
        image_state="pending",
        kms_key_id=kms_key,
        polls=0,
        next_poll_seconds=next_image_poll(0),
    )


def fail(work: RestoreWork, error: BaseException, *, error_type: str | None = None) -> RestoreWork:
    return replace(work, stage=Stage.FAILED, error=str(error), error_type=error_type or type(error).__name__)


def summary(work: RestoreWork) -> dict[str, Any]:
    """The status message / report entry for one restore."""
    return {
        "kind": "restore",
        "run_id": work.run_id,
        "outcome": "restored" if work.stage is Stage.DONE else work.stage.value,
        "ami_id": work.source_ami_id,  # the archived AMI, as in the archive's status messages
        "source_ami_id": work.source_ami_id,
        "recovery_point_arn": work.recovery_point_arn,
        "archive_key": work.archive_key,
        "bucket": work.bucket,
        "storage_class": work.storage_class,
        "tier": work.tier,
        "thaw": work.thaw,
        "image_id": work.image_id,
        "image_name": work.name,
        "image_state": work.image_state,
        "adopted": work.adopted,
        "encrypted": work.encrypted,
        "encryption_verified": work.encryption_verified,
        "kms_key_id": work.kms_key_id,
        "tags_dropped": work.tags_dropped,
        "started_at": work.started_at,
        "error": work.error,
        "error_type": work.error_type,
    }

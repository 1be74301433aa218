"""Steps 2–3: start (or find) the store image task, and poll tasks in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coldvault import keys, lease, manifest
from coldvault.config import Settings
from coldvault.errors import LeaseHeld, StoreDeadlineExceeded, StoreTaskFailed
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline.common import failed, is_ours, timed
from coldvault.pipeline.services import Services


def poll_interval(progress: int, elapsed_seconds: float, *, minimum: float, maximum: float) -> float:
    """When to look again: half the time the task still needs at its observed rate, within bounds.

    Without progress yet there is no rate to go by: the minimum interval.
    """
    if progress <= 0 or elapsed_seconds <= 0:
        return minimum
    if progress >= 100:
        return minimum
    rate = progress / elapsed_seconds  # percent per second
    remaining = (100 - progress) / rate
    return max(minimum, min(maximum, remaining / 2))


def start_store(svc: Services, settings: Settings, work: PointWork) -> PointWork:
    """Take the point's lease, observe what is already done, and start a store task only if needed.

    Idempotent: a verified manifest → ``VERIFIED``; an archive of this point at its key → ``STORED``
    (the copy step accepts it); the staging object → ``STORED``; an ``InProgress`` task → ``STORING``;
    otherwise ``CreateStoreImageTask``. Raises :class:`StoreQuotaExceeded` (retry later).
    """
    if work.stage is not Stage.SELECTED:
        return work
    started = svc.clock.monotonic()
    ami = work.ami_id
    if not work.lease_etag:
        try:
            etag = lease.acquire(
                svc.s3,
                settings.bucket,
                ami,
                svc.owner,
                now=svc.clock.now(),
                seconds=settings.lease_seconds,
                is_stale=svc.stale_lease,
            )
        except LeaseHeld as exc:
            return replace(work, stage=Stage.DONE, outcome=Outcome.LEASED, error=exc.one_line())
        work = replace(work, lease_etag=etag or "held")
    if manifest.is_verified(manifest.read(svc.s3, settings.bucket, work.manifest_key), work.archive_key):
        svc.s3.delete(settings.bucket, keys.staging_key(ami))  # left by a crash after the manifest
        return timed(work, "store", started, svc, stage=Stage.VERIFIED)
    staging = svc.s3.head(settings.bucket, keys.staging_key(ami))
    if staging is not None:
        return _stored(work, started, svc, staging.size)
    task = svc.ec2.describe_store_tasks([ami]).get(ami)
    if task is not None and task.state == "InProgress" and task.bucket in ("", settings.bucket):
        return _storing(
            work, started, svc, settings, task.state, task.progress, task.started or svc.clock.now()
        )
    if task is not None and task.state == "Completed" and task.bucket in ("", settings.bucket):
        staging = svc.s3.head(settings.bucket, keys.staging_key(ami))
        if staging is not None:
            return _stored(work, started, svc, staging.size)
    archive = svc.s3.head(settings.bucket, work.archive_key)
    if archive is not None and not is_ours(archive.metadata, work):
        raise StoreTaskFailed(
            f"{work.archive_key} holds an object not from {work.point.arn}; it is not overwritten",
            hint="move or delete that object, then run again",
        )
    # Tagged so the bucket's lifecycle rule expires a staging object a crash leaves behind.
    svc.ec2.create_store_image_task(ami, settings.bucket, {keys.STAGING_TAG_KEY: keys.STAGING_TAG_VALUE})
    return _storing(work, started, svc, settings, "InProgress", 0, svc.clock.now())


def _stored(work: PointWork, started: float, svc: Services, staging_size: int) -> PointWork:
    """The store task's object is in the bucket: on to the copy."""
    return timed(
        work,
        "store",
        started,
        svc,
        stage=Stage.STORED,
        staging_size=staging_size,
        store_progress=100,
        store_completed_at=work.store_completed_at or svc.clock.now().isoformat(),
    )


def _storing(
    work: PointWork,
    started: float,
    svc: Services,
    settings: Settings,
    state: str,
    progress: int,
    since: datetime,
) -> PointWork:
    """A store task is running (``state``, ``progress`` percent, started ``since``): poll it soon."""
    return timed(
        work,
        "store",
        started,
        svc,
        stage=Stage.STORING,
        store_state=state,
        store_progress=progress,
        store_started_at=since.isoformat(),
        next_poll_seconds=settings.min_poll_seconds,
    )


def check_stores(svc: Services, settings: Settings, works: Sequence[PointWork]) -> list[PointWork]:
    """Poll every ``STORING`` work with one ``DescribeStoreImageTasks`` per 20 AMIs.

    Completed → ``STORED`` (staging size filled); Failed → ``DONE``/failed with EC2's reason; past
    the store deadline → failed; otherwise the progress and ``next_poll_seconds`` from the observed rate.
    """
    storing = [w.ami_id for w in works if w.stage is Stage.STORING]
    tasks = svc.ec2.describe_store_tasks(storing) if storing else {}
    now = svc.clock.now()
    result: list[PointWork] = []
    for work in works:
        if work.stage is not Stage.STORING:
            result.append(work)
            continue
        task = tasks.get(work.ami_id)
        if task is not None and task.bucket not in ("", settings.bucket):
            # EC2 lists only an AMI's newest task (aws/aws-sdk#601): another bucket's store started
            # after ours ended and hides it. Ours is judged by its object, as when no task is listed.
            task = None
        begun = datetime.fromisoformat(work.store_started_at) if work.store_started_at else now
        elapsed = (now - begun).total_seconds()
        if task is not None and task.started is not None:
            elapsed = (now - task.started).total_seconds()
        if task is not None and task.state == "Failed":
            error = StoreTaskFailed(
                f"store task for {work.ami_id} failed: {task.failure_reason or 'no reason given'}"
            )
            result.append(replace(failed(work, error), store_state="Failed"))
            continue
        if task is None or task.state == "Completed":
            staging = svc.s3.head(settings.bucket, keys.staging_key(work.ami_id))
            if staging is not None:
                result.append(
                    replace(
                        work,
                        stage=Stage.STORED,
                        store_state="Completed",
                        store_progress=100,
                        staging_size=staging.size,
                        store_completed_at=now.isoformat(),
                    )
                )
                continue
            if task is None:
                result.append(failed(work, StoreTaskFailed(f"no store task found for {work.ami_id}")))
                continue
        if elapsed > settings.store_deadline_seconds:
            late = StoreDeadlineExceeded(
                f"store task for {work.ami_id} still running after {int(elapsed)} s",
                hint="raise the store deadline or run again later: the task is reused",
            )
            result.append(failed(work, late))
            continue
        progress = task.progress if task is not None else work.store_progress
        result.append(
            replace(
                work,
                store_state=task.state if task is not None else work.store_state,
                store_progress=progress,
                next_poll_seconds=poll_interval(
                    progress, elapsed, minimum=settings.min_poll_seconds, maximum=settings.max_poll_seconds
                ),
            )
        )
    return result

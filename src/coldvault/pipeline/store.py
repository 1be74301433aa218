"""Steps 2–3: start (or find) the store image task, and poll tasks in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coldvault import keys, lease, manifest
from coldvault.aws.ec2 import StoreTask
from coldvault.config import Settings
from coldvault.errors import AwsError, LeaseHeld, StoreDeadlineExceeded, StoreTaskFailed
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline.common import failed, is_ours, is_transient, timed
from coldvault.pipeline.services import Services


def poll_interval(progress: int, elapsed_seconds: float, *, minimum: float, maximum: float) -> float:
    """When to look again at a store task ``progress`` percent done after ``elapsed_seconds``.

    With progress: half the time the task still needs at its observed rate. Without progress yet
    (a queued task sits at 0 %): back off, a quarter of the time it has taken so far. Within
    ``minimum`` and ``maximum`` (the state machine spaces polls further, see :func:`poll_growth`).
    """
    if 0 < progress < 100 and elapsed_seconds > 0:
        rate = progress / elapsed_seconds  # percent per second
        wanted = (100 - progress) / rate / 2
    elif progress <= 0:
        wanted = elapsed_seconds / 4
    else:
        wanted = minimum
    return max(minimum, min(maximum, wanted))


def poll_growth(deadline_seconds: float, minimum: float, polls: int) -> float:
    """The least ``growth`` with which ``polls`` polls reach ``deadline_seconds``.

    With every interval at least ``growth`` × the elapsed time (and the first ``minimum``), poll k
    happens no sooner than ``minimum`` × (1 + growth)^(k-1): ``polls`` polls span the deadline when
    (1 + growth)^(polls-1) ≥ deadline / minimum.
    """
    if deadline_seconds <= minimum:
        return 0.0
    return float((deadline_seconds / minimum) ** (1 / (max(2, polls) - 1)) - 1)


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


def check_stores(
    svc: Services, settings: Settings, works: Sequence[PointWork], *, poll_budget: int | None = None
) -> list[PointWork]:
    """Poll every ``STORING`` work with one ``DescribeStoreImageTasks`` per 20 AMIs.

    Completed → ``STORED`` (staging size filled); Failed → ``DONE``/failed with EC2's reason; past
    the store deadline → failed; otherwise the progress and ``next_poll_seconds`` (:func:`poll_interval`).

    ``poll_budget`` (the state machine's) caps the polls of one point up to its store deadline: the
    intervals grow with the elapsed time so the budget spans the deadline, and a point with one poll
    left waits for the deadline itself. A poll that fails with an error waiting cannot cure (access
    denied, not found, validation) fails every polled point with the reason; throttling or a
    server error backs off (the interval doubles) within the store deadline.
    """
    storing = [w.ami_id for w in works if w.stage is Stage.STORING]
    error: AwsError | None = None
    tasks: dict[str, StoreTask] = {}
    try:
        tasks = svc.ec2.describe_store_tasks(storing) if storing else {}
    except AwsError as exc:
        error = exc
    result: list[PointWork] = []
    for work in works:
        if work.stage is not Stage.STORING:
            result.append(work)
            continue
        work = replace(work, store_polls=work.store_polls + 1)  # a failed poll costs history too
        failure = error
        if failure is None:
            try:
                result.append(_observed(svc, settings, work, tasks, poll_budget))
                continue
            except AwsError as exc:  # the staging object's HEAD
                failure = exc
        if is_transient(failure):
            result.append(_backed_off(svc, settings, work, failure, poll_budget))
        else:
            result.append(failed(work, failure))
    return result


def _elapsed(svc: Services, work: PointWork, task: StoreTask | None) -> float:
    now = svc.clock.now()
    if task is not None and task.started is not None:
        return (now - task.started).total_seconds()
    begun = datetime.fromisoformat(work.store_started_at) if work.store_started_at else now
    return (now - begun).total_seconds()


def _late(work: PointWork, elapsed: float, why: str = "") -> PointWork:
    late = StoreDeadlineExceeded(
        f"store task for {work.ami_id} still running after {int(elapsed)} s{why}",
        hint="raise the store deadline or run again later: the task is reused",
    )
    return failed(work, late)


def _backed_off(
    svc: Services, settings: Settings, work: PointWork, exc: AwsError, poll_budget: int | None
) -> PointWork:
    """A poll that could not look (throttled, server error): look again later, within the deadline."""
    elapsed = _elapsed(svc, work, None)
    if elapsed > settings.store_deadline_seconds:
        return _late(work, elapsed, f"; the last poll failed: {exc.one_line()}")
    wanted = min(settings.max_poll_seconds, max(settings.min_poll_seconds, 2 * work.next_poll_seconds))
    return replace(work, next_poll_seconds=_spaced(settings, work, elapsed, wanted, poll_budget))


def _spaced(
    settings: Settings, work: PointWork, elapsed: float, wanted: float, poll_budget: int | None
) -> float:
    """``wanted`` seconds, or longer so the point's ``poll_budget`` spans its store deadline: never sooner
    than :func:`poll_growth` × the elapsed time, and with one poll left, not before the deadline."""
    if poll_budget is None:
        return wanted
    growth = poll_growth(settings.store_deadline_seconds, settings.min_poll_seconds, poll_budget)
    interval = max(wanted, elapsed * growth)
    if work.store_polls >= poll_budget - 1:
        # One poll left: spend it when the deadline has passed (or the task will be done by then).
        interval = max(interval, settings.store_deadline_seconds - elapsed + 1)
    return interval


def _observed(
    svc: Services,
    settings: Settings,
    work: PointWork,
    tasks: dict[str, StoreTask],
    poll_budget: int | None,
) -> PointWork:
    """``work`` after its task was looked at (``tasks``: what DescribeStoreImageTasks answered)."""
    task = tasks.get(work.ami_id)
    if task is not None and task.bucket not in ("", settings.bucket):
        # EC2 lists only an AMI's newest task (aws/aws-sdk#601): another bucket's store started
        # after ours ended and hides it. Ours is judged by its object, as when no task is listed.
        task = None
    elapsed = _elapsed(svc, work, task)
    if task is not None and task.state == "Failed":
        error = StoreTaskFailed(
            f"store task for {work.ami_id} failed: {task.failure_reason or 'no reason given'}"
        )
        return replace(failed(work, error), store_state="Failed")
    if task is None or task.state == "Completed":
        staging = svc.s3.head(settings.bucket, keys.staging_key(work.ami_id))
        if staging is not None:
            return replace(
                work,
                stage=Stage.STORED,
                store_state="Completed",
                store_progress=100,
                staging_size=staging.size,
                store_completed_at=svc.clock.now().isoformat(),
            )
        if task is None:
            return failed(work, StoreTaskFailed(f"no store task found for {work.ami_id}"))
    if elapsed > settings.store_deadline_seconds:
        return _late(work, elapsed)
    progress = task.progress if task is not None else work.store_progress
    wanted = poll_interval(
        progress, elapsed, minimum=settings.min_poll_seconds, maximum=settings.max_poll_seconds
    )
    interval = _spaced(settings, work, elapsed, wanted, poll_budget)
    return replace(
        work,
        store_state=task.state if task is not None else work.store_state,
        store_progress=progress,
        next_poll_seconds=interval,
    )

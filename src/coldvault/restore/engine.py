"""The CLI engine of a restore: the steps in order, waiting on an injected clock, then the status
message and the report entry."""

from __future__ import annotations

from collections.abc import Callable

from coldvault.errors import ColdvaultError, UsageError
from coldvault.pipeline.services import Services
from coldvault.pricing import Prices
from coldvault.report import csv_text, put_report, restore_report
from coldvault.restore.policy import Estimate, RestoreOptions, Stage, estimate
from coldvault.restore.steps import (
    RestoreWork,
    check_image,
    check_thaw,
    encrypt,
    fail,
    prepare,
    start_image,
    summary,
    thaw,
)

Confirm = Callable[[RestoreWork, Estimate], None]  # raises to refuse
Progress = Callable[[RestoreWork], None]


def estimate_for(work: RestoreWork, prices: Prices | None = None) -> Estimate:
    return estimate(work.storage_class, work.size_bytes, work.tier, work.days, prices)


def publish(svc: Services, work: RestoreWork, *, queue_url: str | None) -> RestoreWork:
    """The status message (when a queue is given) and the report under ``logs/`` (the one report
    writer, :func:`coldvault.report.put_report`)."""
    message = summary(work)
    if queue_url:
        svc.sqs.send(queue_url, message)
    finished = svc.clock.now()
    report = restore_report(work.run_id, work.started_at, finished, message)
    put_report(svc.s3, work.bucket, finished, work.run_id, report, csv_text(list(message), [message]))
    return work


def run_restore(
    svc: Services,
    options: RestoreOptions,
    ref: str,
    *,
    bucket: str,
    wait: bool,
    confirm: Confirm,
    progress: Progress | None = None,
    run_id: str | None = None,
    prices: Prices | None = None,
) -> RestoreWork:
    """Restore the archive ``ref`` names; with ``wait``, until the AMI is available.

    Usage problems raise before anything changed. A failure later is published (status message,
    report) and raised. ``prices`` (default: the built-in table) price the confirmation's estimate.
    """
    work = prepare(svc, options, ref, bucket=bucket, run_id=run_id)
    if not work.adopted:
        confirm(work, estimate_for(work, prices))
    show = progress or (lambda _w: None)
    try:
        work = thaw(svc, work)
        show(work)
        while work.stage is Stage.THAWING and wait:
            svc.clock.sleep(work.next_poll_seconds)
            work = check_thaw(svc, work)
            show(work)
        work = start_image(svc, work)
        while work.stage in (Stage.IMAGING, Stage.ENCRYPT, Stage.ENCRYPTING):
            if work.stage is Stage.ENCRYPT:
                work = encrypt(svc, work)
                show(work)
                continue
            work = check_image(svc, work)
            show(work)
            if work.stage in (Stage.IMAGING, Stage.ENCRYPTING):
                if not wait:
                    break
                svc.clock.sleep(work.next_poll_seconds)
    except UsageError:
        raise
    except ColdvaultError as exc:
        publish(svc, fail(work, exc), queue_url=options.queue_url)
        raise
    publish(svc, work, queue_url=options.queue_url)
    return work

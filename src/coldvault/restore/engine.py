"""The CLI engine of a restore: the steps in order, waiting on an injected clock, then the status
message and the report entry."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.aws.sqs import Sqs
from coldvault.errors import ColdvaultError, UsageError
from coldvault.pricing import Prices
from coldvault.restore.policy import Estimate, RestoreOptions, Stage, estimate
from coldvault.restore.steps import (
    RestoreServices,
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

REPORT_SCHEMA = "coldvault.restore-report/1"

Confirm = Callable[[RestoreWork, Estimate], None]  # raises to refuse
Progress = Callable[[RestoreWork], None]


def estimate_for(work: RestoreWork, prices: Prices | None = None) -> Estimate:
    return estimate(work.storage_class, work.size_bytes, work.tier, work.days, prices)


def publish(svc: RestoreServices, work: RestoreWork, *, queue_url: str | None) -> RestoreWork:
    """The status message (when a queue is given) and the report entry under ``logs/``."""
    message = summary(work)
    if queue_url:
        if svc.sqs is None:
            raise UsageError("a status queue was given but no SQS client")
        Sqs(svc.sqs).send(queue_url, message)
    started = svc.clock.now()
    s3 = S3(svc.s3)
    report = {
        "schema": REPORT_SCHEMA,
        "kind": "restore",
        "run_id": work.run_id,
        "started": work.started_at,
        "finished": started.isoformat(),
        "items": [message],
    }
    s3.put_json(work.bucket, keys.report_key(started, work.run_id, "json"), report)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(message), lineterminator="\n")
    writer.writeheader()
    writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in message.items()})
    s3.put_json(
        work.bucket,
        keys.report_key(started, work.run_id, "csv"),
        buffer.getvalue().encode(),
        content_type="text/csv",
    )
    return work


def run_restore(
    svc: RestoreServices,
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

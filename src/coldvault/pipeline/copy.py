"""Step 4: copy the staging object to the archive key, in the requested class (resumable)."""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from coldvault import keys
from coldvault.aws.s3 import PreconditionFailed
from coldvault.config import Settings, part_size_for
from coldvault.errors import StoreTaskFailed, VerificationFailed
from coldvault.models import PointWork, Stage
from coldvault.pipeline.common import is_ours, timed
from coldvault.pipeline.labels import archive_metadata, archive_tags
from coldvault.pipeline.services import Services


def copy_archive(
    svc: Services, settings: Settings, work: PointWork, *, time_budget_seconds: float | None = None
) -> PointWork:
    """Copy ``<ami-id>.bin`` to the archive key: one ``CopyObject`` up to the threshold, otherwise a
    multipart copy with parallel ``UploadPartCopy``.

    Resumable: an upload for the key left by an earlier call (or a crashed run) is continued from its
    listed parts; other uploads for the key are aborted. When ``time_budget_seconds`` runs out the work
    comes back ``COPYING`` with the upload id and parts done; call again to continue. An archive of this
    point already at the key with the staging object's size is accepted; an object from anything else is
    never overwritten.
    """
    if work.stage not in (Stage.STORED, Stage.COPYING):
        return work
    started = svc.clock.monotonic()
    bucket = settings.bucket
    staging_key = keys.staging_key(work.ami_id)
    staging = svc.s3.head(bucket, staging_key)
    archive = svc.s3.head(bucket, work.archive_key)
    if staging is None:
        raise StoreTaskFailed(
            f"staging object s3://{bucket}/{staging_key} is missing", hint="run again to store it"
        )
    if archive is not None:
        if not is_ours(archive.metadata, work):
            raise VerificationFailed(
                f"{work.archive_key} holds an object that is not from {work.point.arn}; it is not overwritten"
            )
        if archive.size == staging.size:
            _abort_uploads(svc, bucket, work.archive_key, keep="")
            return timed(work, "copy", started, svc, stage=Stage.COPIED, staging_size=staging.size)
        # Our own copy, unverified and of the wrong size (never catalogued): replace it.
        svc.s3.delete(bucket, work.archive_key, if_match=archive.etag)
    metadata = archive_metadata(work, staging.metadata, staging.size)
    tags = archive_tags(work)
    if staging.size <= settings.copy_threshold_bytes:
        _abort_uploads(svc, bucket, work.archive_key, keep="")
        svc.s3.copy(
            bucket,
            staging_key,
            work.archive_key,
            storage_class=settings.storage_class.value,
            metadata=metadata,
            tags=tags,
        )
        svc.after_step("copy_part", work.ami_id)
        return timed(
            work,
            "copy",
            started,
            svc,
            stage=Stage.COPIED,
            staging_size=staging.size,
            parts_total=1,
            parts_done=1,
        )
    part = part_size_for(staging.size, settings.part_size_bytes)
    total = math.ceil(staging.size / part)
    upload_id, etags = _resume_or_create(svc, settings, work, part, staging.size, metadata, tags)
    work = replace(work, stage=Stage.COPYING, upload_id=upload_id, part_size=part, parts_total=total)
    missing = [n for n in range(1, total + 1) if n not in etags]
    try:
        _copy_parts(svc, settings, work, missing, etags, staging.size, started, time_budget_seconds)
    except Exception:
        svc.s3.abort_upload(bucket, work.archive_key, upload_id)
        raise
    if len(etags) < total:
        return timed(work, "copy", started, svc, parts_done=len(etags), staging_size=staging.size)
    try:
        svc.s3.complete_upload(bucket, work.archive_key, upload_id, etags)
    except PreconditionFailed:
        svc.s3.abort_upload(bucket, work.archive_key, upload_id)
        return timed(work, "copy", started, svc, stage=Stage.STORED, upload_id="", parts_done=0)
    return timed(
        work,
        "copy",
        started,
        svc,
        stage=Stage.COPIED,
        upload_id="",
        parts_done=total,
        staging_size=staging.size,
    )


def _abort_uploads(svc: Services, bucket: str, key: str, *, keep: str) -> None:
    for upload in svc.s3.list_uploads(bucket, key):
        if upload.key == key and upload.upload_id != keep:
            svc.s3.abort_upload(bucket, key, upload.upload_id)


def _resume_or_create(
    svc: Services,
    settings: Settings,
    work: PointWork,
    part: int,
    size: int,
    metadata: dict[str, str],
    tags: dict[str, str],
) -> tuple[str, dict[int, str]]:
    """The upload to continue (with its parts' ETags) or a new one; stray uploads for the key aborted."""
    bucket = settings.bucket
    candidates = [
        u.upload_id for u in svc.s3.list_uploads(bucket, work.archive_key) if u.key == work.archive_key
    ]
    chosen = work.upload_id if work.upload_id in candidates else (candidates[0] if candidates else "")
    etags: dict[int, str] = {}
    if chosen:
        parts = svc.s3.list_parts(bucket, work.archive_key, chosen)
        if all(got == min(part, size - (n - 1) * part) for n, (_, got) in parts.items()):
            etags = {n: etag for n, (etag, _) in parts.items()}
        else:
            chosen = ""
    _abort_uploads(svc, bucket, work.archive_key, keep=chosen)
    if not chosen:
        chosen = svc.s3.create_upload(
            bucket, work.archive_key, storage_class=settings.storage_class.value, metadata=metadata, tags=tags
        )
    return chosen, etags


def _copy_parts(
    svc: Services,
    settings: Settings,
    work: PointWork,
    numbers: list[int],
    etags: dict[int, str],
    size: int,
    started: float,
    budget: float | None,
) -> None:
    """Copy ``numbers`` in parallel into ``etags``; stop submitting when the time budget is spent."""
    bucket, key, source = settings.bucket, work.archive_key, keys.staging_key(work.ami_id)
    part = work.part_size

    def one(n: int) -> tuple[int, str]:
        first = (n - 1) * part
        last = min(size, n * part) - 1
        return n, svc.s3.copy_part(bucket, source, key, work.upload_id, n, first, last)

    queue = list(numbers)
    running: set[Future[tuple[int, str]]] = set()
    with ThreadPoolExecutor(max_workers=settings.copy_concurrency) as pool:
        while queue or running:
            out_of_time = budget is not None and svc.clock.monotonic() - started >= budget
            while queue and not out_of_time and len(running) < settings.copy_concurrency:
                running.add(pool.submit(one, queue.pop(0)))
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                n, etag = future.result()
                etags[n] = etag
                svc.after_step("copy_part", work.ami_id)

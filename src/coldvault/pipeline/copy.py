"""Step 4: copy the staging object to the archive key, in the requested class (resumable).

Every call makes progress: it copies at least one part (or completes the upload, or finds the copy
done) whatever its time budget, so the loop calling it (the CLI runner, the state machine's
``CopyDone → CopyArchive``) ends; and the copy has a deadline of its own (``copy_deadline_seconds``
from the first call, kept in the work as ``copy_started_at``), past which the point fails with
:class:`~coldvault.errors.CopyDeadlineExceeded`.
"""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime

from coldvault import keys
from coldvault.aws.s3 import ObjectInfo, Part, PreconditionFailed
from coldvault.config import Settings, part_size_for
from coldvault.errors import CopyDeadlineExceeded, StoreTaskFailed, VerificationFailed
from coldvault.models import PointWork, Stage
from coldvault.pipeline.common import is_ours, is_transient, timed
from coldvault.pipeline.labels import archive_metadata, archive_tags
from coldvault.pipeline.services import Services


@dataclass(frozen=True)
class _Call:
    """One call's time: when it started, how long it may copy, what it keeps for CompleteMultipartUpload."""

    svc: Services
    started: float
    budget: float | None
    complete_reserve: float

    def elapsed(self) -> float:
        return self.svc.clock.monotonic() - self.started

    def may_submit(self) -> bool:
        """Whether another part may start: the budget less the time kept for Complete is not spent."""
        return self.budget is None or self.elapsed() < self.budget - self.complete_reserve

    def may_complete(self, copied_now: int) -> bool:
        """Whether Complete fits: the reserve is left, or this call copied no part (all its time is
        Complete's)."""
        return self.budget is None or copied_now == 0 or self.budget - self.elapsed() >= self.complete_reserve


def copy_archive(
    svc: Services,
    settings: Settings,
    work: PointWork,
    *,
    time_budget_seconds: float | None = None,
    complete_reserve_seconds: float = 0.0,
) -> PointWork:
    """Copy ``<ami-id>.bin`` to the archive key: one ``CopyObject`` up to the threshold, otherwise a
    multipart copy with parallel ``UploadPartCopy``.

    Resumable: an upload for the key left by an earlier call (or a crashed run) is continued from its
    listed parts; other uploads for the key are aborted. Parts start while ``time_budget_seconds`` less
    ``complete_reserve_seconds`` lasts, but at least one part is copied per call; the upload is
    completed only with ``complete_reserve_seconds`` left (or by a call that had no part to copy).
    Otherwise the work comes back ``COPYING`` with the upload id and parts done: call again. An archive
    of this point already at the key with the staging object's size is accepted; an object from
    anything else is never overwritten. Past ``settings.copy_deadline_seconds`` since the first call,
    raises :class:`CopyDeadlineExceeded` (the upload is kept: a later run resumes it).
    """
    if work.stage not in (Stage.STORED, Stage.COPYING):
        return work
    call = _Call(svc, svc.clock.monotonic(), time_budget_seconds, complete_reserve_seconds)
    work = _check_deadline(svc, settings, work)
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
            return timed(work, "copy", call.started, svc, stage=Stage.COPIED, staging_size=staging.size)
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
            call.started,
            svc,
            stage=Stage.COPIED,
            staging_size=staging.size,
            parts_total=1,
            parts_done=1,
        )
    return _multipart(call, settings, work, staging, metadata, tags)


def _check_deadline(svc: Services, settings: Settings, work: PointWork) -> PointWork:
    """``work`` with its copy's start recorded; raises :class:`CopyDeadlineExceeded` past the deadline."""
    now = svc.clock.now()
    if not work.copy_started_at:
        return replace(work, copy_started_at=now.isoformat())
    elapsed = (now - datetime.fromisoformat(work.copy_started_at)).total_seconds()
    if elapsed > settings.copy_deadline_seconds:
        raise CopyDeadlineExceeded(
            f"copy of {work.ami_id} still unfinished after {int(elapsed)} s "
            f"({work.parts_done} of {work.parts_total} parts)",
            hint="run again later: the upload is kept and resumed",
        )
    return work


def _multipart(
    call: _Call,
    settings: Settings,
    work: PointWork,
    staging: ObjectInfo,
    metadata: dict[str, str],
    tags: dict[str, str],
) -> PointWork:
    svc, bucket = call.svc, settings.bucket
    part = part_size_for(staging.size, settings.part_size_bytes)
    total = math.ceil(staging.size / part)
    upload_id, parts = _resume_or_create(svc, settings, work, part, staging.size, metadata, tags)
    work = replace(work, stage=Stage.COPYING, upload_id=upload_id, part_size=part, parts_total=total)
    missing = [n for n in range(1, total + 1) if n not in parts]
    try:
        _copy_parts(call, settings, work, missing, parts, staging.size)
    except Exception as exc:
        if not is_transient(exc):  # a retry resumes after a transient failure; nothing else would
            svc.s3.abort_upload(bucket, work.archive_key, upload_id)
        raise
    copied_now = len(missing) - sum(1 for n in missing if n not in parts)
    if len(parts) < total or not call.may_complete(copied_now):
        return timed(work, "copy", call.started, svc, parts_done=len(parts), staging_size=staging.size)
    # The staging object's CRC64NVME (always a full-object checksum), when S3 has one, makes Complete
    # check the assembled copy against it: S3 refuses the upload (BadDigest) rather than a wrong archive.
    try:
        svc.s3.complete_upload(
            bucket, work.archive_key, upload_id, parts, checksum=staging.checksum, size=staging.size
        )
    except PreconditionFailed:
        svc.s3.abort_upload(bucket, work.archive_key, upload_id)
        return timed(work, "copy", call.started, svc, stage=Stage.STORED, upload_id="", parts_done=0)
    except Exception as exc:
        if not is_transient(exc):  # BadDigest, a wrong size: these parts will never make the archive
            svc.s3.abort_upload(bucket, work.archive_key, upload_id)
        raise
    return timed(
        work,
        "copy",
        call.started,
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
) -> tuple[str, dict[int, Part]]:
    """The upload to continue (with its parts) or a new one; stray uploads for the key aborted.

    An upload whose parts do not fit this copy's part layout is not resumed.
    """
    bucket = settings.bucket
    candidates = [
        u.upload_id for u in svc.s3.list_uploads(bucket, work.archive_key) if u.key == work.archive_key
    ]
    chosen = work.upload_id if work.upload_id in candidates else (candidates[0] if candidates else "")
    parts: dict[int, Part] = {}
    if chosen:
        parts = svc.s3.list_parts(bucket, work.archive_key, chosen)
        if not all(p.size == min(part, size - (n - 1) * part) for n, p in parts.items()):
            chosen, parts = "", {}
    _abort_uploads(svc, bucket, work.archive_key, keep=chosen)
    if not chosen:
        chosen = svc.s3.create_upload(
            bucket, work.archive_key, storage_class=settings.storage_class.value, metadata=metadata, tags=tags
        )
    return chosen, parts


def _copy_parts(
    call: _Call,
    settings: Settings,
    work: PointWork,
    numbers: list[int],
    parts: dict[int, Part],
    size: int,
) -> None:
    """Copy ``numbers`` in parallel into ``parts``: the first always, the others while the budget lasts."""
    svc = call.svc
    bucket, key, source = settings.bucket, work.archive_key, keys.staging_key(work.ami_id)
    part = work.part_size

    def one(n: int) -> tuple[int, Part]:
        first = (n - 1) * part
        last = min(size, n * part) - 1
        return n, svc.s3.copy_part(bucket, source, key, work.upload_id, n, first, last)

    queue = list(numbers)
    running: set[Future[tuple[int, Part]]] = set()
    submitted = 0
    with ThreadPoolExecutor(max_workers=settings.copy_concurrency) as pool:
        while queue or running:
            while (
                queue and len(running) < settings.copy_concurrency and (submitted == 0 or call.may_submit())
            ):
                running.add(pool.submit(one, queue.pop(0)))
                submitted += 1
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                n, copied = future.result()
                parts[n] = copied
                svc.after_step("copy_part", work.ami_id)

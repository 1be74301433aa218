"""The CLI engine: runs the pipeline's steps in-process for many recovery points at once.

- Store tasks start, largest first, while the bytes in progress stay under ``max_in_progress_bytes``
  (an AMI bigger than the limit starts alone); at most ``concurrency`` points are in flight.
- A quota refusal (``StoreQuotaExceeded``) is waited out, retrying, until the quota-wait deadline.
- Every in-progress task is polled with batched ``DescribeStoreImageTasks`` at the interval the
  observed progress suggests (``check_stores``), each task under the store deadline.
- Finished stores go to a pool of workers: copy (reported part by part) → verify → delete → publish.
- Every move is an :class:`~coldvault.progress.Event` for the renderer; a ``heartbeat`` event at least
  every ``progress_seconds`` (on the injected clock) so a long run is never silent.
- The leases of the points in flight are renewed every third of ``lease_seconds``.
- ``stop`` (set by the CLI on Ctrl-C or SIGTERM) ends the run cleanly: no store is started or polled
  any more, each worker ends its point at the next step boundary (a copy between two slices, before
  verify, before delete), and :attr:`Runner.unfinished` holds the points left for the next run, none
  of them mid-operation, so their leases can be released.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from coldvault import lease, pipeline
from coldvault.clock import Deadline
from coldvault.config import Settings
from coldvault.errors import ColdvaultError, StoreQuotaExceeded
from coldvault.models import PointWork, Stage
from coldvault.pipeline.services import Services
from coldvault.progress import Event, EventSink, ignore, point_event

COPY_SLICE_SECONDS = 2.0  # copy in slices so the display follows the parts
WAIT_SLICE_SECONDS = 0.5
STOP_SLICE_SECONDS = 1.0  # a stop (Ctrl-C) is seen within this while the runner sleeps


def pick_next(pending: Sequence[PointWork], in_progress_bytes: int, limit: int) -> int | None:
    """Index of the next point to store (``pending`` sorted largest first), or None to wait.

    The largest point that keeps the bytes in progress within ``limit``; when nothing is in
    progress, the largest point even if it is over the limit on its own.
    """
    if not pending:
        return None
    for index, work in enumerate(pending):
        if in_progress_bytes + work.point.backup_size_bytes <= limit:
            return index
    return 0 if in_progress_bytes == 0 else None


class Runner:
    def __init__(
        self,
        svc: Services,
        settings: Settings,
        *,
        emit: EventSink = ignore,
        stop: threading.Event | None = None,
    ) -> None:
        self.svc = svc
        self.settings = settings
        self.emit = emit
        self.stop = stop or threading.Event()
        self.storing: dict[str, PointWork] = {}
        self.running: dict[Future[PointWork], str] = {}
        self.finished: list[PointWork] = []
        self.unfinished: list[PointWork] = []  # left by a stop, each at a step boundary

    @property
    def interrupted(self) -> bool:
        return self.stop.is_set()

    # -- per point, in a worker thread --------------------------------------------------------
    def _after_store(self, work: PointWork) -> PointWork:
        svc, settings = self.svc, self.settings
        try:
            while work.stage in (Stage.STORED, Stage.COPYING):
                if self.stop.is_set():
                    return work
                work = pipeline.copy_archive(svc, settings, work, time_budget_seconds=COPY_SLICE_SECONDS)
                self.emit(point_event(work, "copy"))
            svc.after_step("copy", work.ami_id)
            if self.stop.is_set():
                return work
            work = pipeline.verify_archive(svc, settings, work)
            self.emit(point_event(work, "verify"))
            svc.after_step("verify", work.ami_id)
            if self.stop.is_set():
                return work
            work = pipeline.delete_recovery_point(svc, settings, work)
            svc.after_step("deleted", work.ami_id)
        except ColdvaultError as exc:
            work = pipeline.failed(work, exc)
        except Exception as exc:  # noqa: BLE001 - never hide a failure: the point fails with its reason
            work = pipeline.failed(work, exc)
        return self._publish(work)

    def _publish(self, work: PointWork) -> PointWork:
        try:
            work = pipeline.publish_result(self.svc, self.settings, work)
        except ColdvaultError as exc:
            self.emit(
                Event(kind="waiting", ami_id=work.ami_id, message=f"publishing failed: {exc.one_line()}")
            )
        self.svc.after_step("publish", work.ami_id)
        self.emit(point_event(work))
        return work

    # -- orchestration, in the calling thread -------------------------------------------------
    def _dispatch(self, pool: ThreadPoolExecutor, work: PointWork) -> None:
        self.emit(point_event(work))
        if work.stage is Stage.STORING:
            self.storing[work.ami_id] = work
        elif work.stage is Stage.DONE:
            self.running[pool.submit(self._publish, work)] = work.ami_id
        else:
            self.running[pool.submit(self._after_store, work)] = work.ami_id

    def _in_progress_bytes(self) -> int:
        return sum(w.point.backup_size_bytes for w in self.storing.values())

    def _start_some(self, pool: ThreadPoolExecutor, pending: list[PointWork], quota: Deadline | None) -> bool:
        """Start stores while there is room; True when the quota refused one (wait before retrying)."""
        settings = self.settings
        while pending and len(self.storing) + len(self.running) < settings.concurrency:
            index = pick_next(pending, self._in_progress_bytes(), settings.max_in_progress_bytes)
            if index is None:
                return False
            work = pending.pop(index)
            try:
                work = pipeline.start_store(self.svc, settings, work)
            except StoreQuotaExceeded as exc:
                if quota is not None and quota.expired():
                    self._dispatch(pool, pipeline.failed(work, exc))
                    continue
                pending.insert(index, work)
                self.emit(Event(kind="waiting", ami_id=work.ami_id, message="store quota reached: waiting"))
                return True
            except ColdvaultError as exc:
                work = pipeline.failed(work, exc)
            self.svc.after_step("store", work.ami_id)
            self._dispatch(pool, work)
        return False

    def _poll(self, pool: ThreadPoolExecutor) -> float:
        """Check every storing task; seconds until the next poll."""
        try:
            updated = pipeline.check_stores(self.svc, self.settings, list(self.storing.values()))
        except ColdvaultError as exc:
            self.emit(Event(kind="waiting", message=f"polling failed, retrying: {exc.one_line()}"))
            return self.settings.min_poll_seconds
        for work in updated:
            if work.stage is Stage.STORING:
                self.storing[work.ami_id] = work
                self.emit(point_event(work))
                continue
            del self.storing[work.ami_id]
            self.svc.after_step("stored", work.ami_id)
            self._dispatch(pool, work)
        if not self.storing:
            return 0.0
        return min(w.next_poll_seconds or self.settings.min_poll_seconds for w in self.storing.values())

    def _collect(self, timeout: float) -> None:
        done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            del self.running[future]
            work = future.result()
            (self.finished if work.stage is Stage.DONE else self.unfinished).append(work)

    def _renew_leases(self) -> None:
        """Renew the lease of every point in flight (storing, or in a worker)."""
        now = self.svc.clock.now()
        for ami in [*self.storing, *self.running.values()]:
            lease.renew(
                self.svc.s3,
                self.settings.bucket,
                ami,
                self.svc.owner,
                now=now,
                seconds=self.settings.lease_seconds,
            )

    def _beat(self, now: float, beats: list[float]) -> None:
        """The heartbeat and the lease renewal, when their time has come (``beats``: when next)."""
        if now >= beats[0]:
            self.emit(Event(kind="heartbeat"))
            beats[0] = now + max(1.0, self.settings.progress_seconds)
        if now >= beats[1]:
            self._renew_leases()
            beats[1] = now + max(1.0, self.settings.lease_seconds / 3)

    def _sleep(self, seconds: float, beats: list[float]) -> None:
        """Sleep on the clock, in short slices so a stop is seen within one, until the next beat at most."""
        clock = self.svc.clock
        end = min(clock.monotonic() + seconds, *beats)
        while not self.stop.is_set() and (left := end - clock.monotonic()) > 0:
            clock.sleep(min(left, STOP_SLICE_SECONDS))

    def _stop(self, pending: list[PointWork]) -> None:
        """After a stop: wait for every worker to reach a step boundary; what is left is unfinished."""
        busy = f", ending {len(self.running)} point(s) at their next step" if self.running else ""
        self.emit(Event(kind="waiting", message=f"interrupted{busy} (Ctrl-C again stops at once)"))
        while self.running:
            self._collect(WAIT_SLICE_SECONDS)
        self.unfinished.extend(self.storing.values())
        self.unfinished.extend(pending)
        self.storing.clear()

    def run(self, works: Sequence[PointWork]) -> list[PointWork]:
        """Take every work to ``DONE``; the final works (each published)."""
        clock = self.svc.clock
        pending = sorted(works, key=lambda w: w.point.backup_size_bytes, reverse=True)
        quota: Deadline | None = None
        next_poll = clock.monotonic()
        workers = max(1, self.settings.concurrency)
        start = clock.monotonic()
        beats = [start + self.settings.progress_seconds, start + self.settings.lease_seconds / 3]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="coldvault") as pool:
            while pending or self.storing or self.running:
                if self.stop.is_set():
                    self._stop(pending)
                    break
                self._beat(clock.monotonic(), beats)
                refused = self._start_some(pool, pending, quota)
                if refused and quota is None:
                    quota = Deadline(clock, self.settings.quota_wait_deadline_seconds)
                elif not refused:
                    quota = None
                if self.storing and clock.monotonic() >= next_poll:
                    next_poll = clock.monotonic() + self._poll(pool)
                wait_for = max(0.0, next_poll - clock.monotonic()) if self.storing else 0.0
                if refused:
                    wait_for = max(wait_for, self.settings.min_poll_seconds) if not self.storing else wait_for
                if self.running:
                    self._collect(min(wait_for, WAIT_SLICE_SECONDS) if wait_for else WAIT_SLICE_SECONDS)
                elif wait_for > 0:
                    self._sleep(wait_for, beats)
        message = "interrupted" if self.stop.is_set() else "finished"
        self.emit(Event(kind="run", message=message, extra={"points": len(self.finished)}))
        return self.finished

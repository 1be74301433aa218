"""The Lambda handlers: one per Task state of ``archive.asl.json``, each a thin call of one pipeline step.

Every handler takes ``{"run": …, "work" | "ami_id": …, "execution": …}`` and returns
``{"run": …, "work": …, "wait_seconds": n}`` (the state machine's Choices read ``$.work.stage``).
Failures are raised as coldvault errors: Step Functions sees the class name as the error, which the
state machine's ``Retry``/``Catch`` match. The steps themselves are :mod:`coldvault.pipeline`'s, the
same ones ``coldvault archive`` runs; nothing here decides anything about a recovery point.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from typing import Any

from coldvault import keys, lease, preflight
from coldvault.cloud import runs
from coldvault.cloud.runtime import cached_session, caught_error, log, runtime
from coldvault.config import new_run_id
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline import capacity
from coldvault.pipeline.copy import copy_archive as copy_step
from coldvault.pipeline.finish import delete_recovery_point as delete_step
from coldvault.pipeline.finish import new_work
from coldvault.pipeline.finish import publish_result as publish_step
from coldvault.pipeline.listing import list_candidates as list_step
from coldvault.pipeline.services import Services
from coldvault.pipeline.store import check_stores
from coldvault.pipeline.store import start_store as start_step
from coldvault.pipeline.verify import verify_archive as verify_step
from coldvault.report import record_plan
from coldvault.report import write_report as report_step

COPY_TIME_MARGIN_SECONDS = 60.0  # left to the copy step to record its progress before Lambda stops it
COPY_SLICE_ENV = "COLDVAULT_COPY_SLICE_SECONDS"  # optional: copy at most this long per invocation
NOTIFY_OUTCOMES = (Outcome.FAILED.value, Outcome.RETAINED.value)
LISTED_IN_MESSAGE = 50


def _run(event: dict[str, Any]) -> tuple[runs.RunState, Services]:
    run = runs.RunState.from_json(event["run"])
    return run, runtime().services(run.run_id)


def _out(run: runs.RunState, work: PointWork) -> dict[str, Any]:
    wait = max(1, math.ceil(work.next_poll_seconds or 1))
    return {"run": run.to_json(), "work": work.to_json(), "wait_seconds": wait}


def _work(event: dict[str, Any]) -> PointWork:
    return PointWork.from_json(event["work"])


def list_candidates(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ListCandidates: a new run's plan (recorded in S3), or the next batch of a continued run."""
    rt = runtime()
    execution = str(event.get("execution", ""))
    given = event.get("run") or {}
    # A run started without an id (the schedule) takes one derived from its execution: a retried
    # invocation finds the same run instead of starting another.
    run_id = str(given.get("run_id") or _run_id_for(execution))
    settings = rt.load_settings(run_id)
    svc = rt.services(run_id)
    # The CLI's checks before any change: a missing vault, a bucket in another Region, public or
    # unencrypted, or a missing queue raises PreflightError, which fails the run with its message.
    preflight.check(svc, settings, region=cached_session(rt.env).region_name, changing=True)
    existing = svc.s3.get_json(settings.bucket, keys.candidates_key(run_id))
    if existing is None:
        plan = list_step(svc, settings)
        record_plan(svc, settings, plan, {})
        works = [new_work(settings, point) for point in plan.candidates]
        run = runs.RunState(run_id=run_id, started=rt.clock.now(), settings=settings)
        runs.save_candidates(svc, run, works)
        log("run.planned", execution, run_id=run_id, candidates=len(works), skipped=len(plan.skipped))
    else:
        started, settings, works = runs.load_candidates(svc, settings.bucket, run_id)
        run = runs.RunState(run_id=run_id, started=started, settings=settings)
    run = replace(run, cursor=int(given.get("cursor") or 0))
    state, items = runs.open_batch(svc, run, works, run.settings.items_per_execution)
    log("run.batch", execution, run_id=run_id, cursor=state.cursor, items=len(items), total=state.total)
    return {"run": state.to_json(), "items": items}


def _run_id_for(execution: str) -> str:
    if not execution:
        return new_run_id()
    return hashlib.sha256(execution.encode()).hexdigest()[:12]


def start_store(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """StartStore: take the lease, reuse or start the AMI's store image task."""
    run, svc = _run(event)
    work = runs.load_work(svc, run, str(event["ami_id"]))
    svc = capacity.within_limit(svc, run.settings.max_in_progress_bytes)  # MaxInProgressGB
    work = start_step(svc, run.settings, work)
    log("point.start_store", str(event.get("execution", "")), ami_id=work.ami_id, stage=work.stage.value)
    return _out(run, work)


def _hold(svc: Services, run: runs.RunState, work: PointWork) -> PointWork:
    """Renew the point's lease before a step acts on it: a run that stops renewing (its execution
    failed or was stopped) loses its points within ``lease_seconds``. Raises ``LeaseHeld`` (the point
    is recorded as leased) when another run took the point over meanwhile."""
    if work.stage is not Stage.DONE:
        settings = run.settings
        lease.acquire(
            svc.s3,
            settings.bucket,
            work.ami_id,
            svc.owner,
            now=svc.clock.now(),
            seconds=settings.lease_seconds,
        )
    return work


def check_store(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CheckStore: the task's progress and when to look again (or its failure, or its deadline)."""
    run, svc = _run(event)
    (work,) = check_stores(svc, run.settings, [_hold(svc, run, _work(event))])
    log(
        "point.check_store",
        str(event.get("execution", "")),
        ami_id=work.ami_id,
        stage=work.stage.value,
        progress=work.store_progress,
    )
    return _out(run, work)


def copy_archive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CopyArchive: copy within this invocation's time; an unfinished copy comes back ``copying``."""
    run, svc = _run(event)
    budget = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = max(10.0, remaining() / 1000 - COPY_TIME_MARGIN_SECONDS)
    slice_seconds = runtime().env.get(COPY_SLICE_ENV)
    if slice_seconds:
        budget = min(budget if budget is not None else math.inf, float(slice_seconds))
    work = copy_step(svc, run.settings, _hold(svc, run, _work(event)), time_budget_seconds=budget)
    log(
        "point.copy",
        str(event.get("execution", "")),
        ami_id=work.ami_id,
        stage=work.stage.value,
        parts_done=work.parts_done,
        parts_total=work.parts_total,
    )
    return _out(run, work)


def verify_archive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """VerifyArchive: check the archive, write the manifest, delete the staging object."""
    run, svc = _run(event)
    work = verify_step(svc, run.settings, _hold(svc, run, _work(event)))
    log("point.verify", str(event.get("execution", "")), ami_id=work.ami_id, stage=work.stage.value)
    return _out(run, work)


def delete_recovery_point(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DeleteRecoveryPoint: only a verified archive's point; confirmed, or retained with why."""
    run, svc = _run(event)
    work = delete_step(svc, run.settings, _hold(svc, run, _work(event)))
    outcome = work.outcome.value if work.outcome else ""
    log("point.delete", str(event.get("execution", "")), ami_id=work.ami_id, outcome=outcome)
    return _out(run, work)


def publish_result(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """PublishResult: the SQS status message and the result object; the lease is released."""
    run, svc = _run(event)
    work = publish_step(svc, run.settings, _work(event))
    outcome = work.outcome.value if work.outcome else ""
    log("point.published", str(event.get("execution", "")), ami_id=work.ami_id, outcome=outcome)
    return {"ami_id": work.ami_id, "outcome": outcome}


def record_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """RecordFailure: a point whose step failed keeps its recovery point; its failure is published.

    A point another run holds is recorded as leased. A point whose outcome was already final (the
    failure came from publishing) keeps that outcome and is published again.
    """
    run, svc = _run(event)
    state = event.get("input") or {}
    work = (
        PointWork.from_json(state["work"])
        if "work" in state
        else runs.load_work(svc, run, str(state["ami_id"]))
    )
    name, message = caught_error(event.get("error") or state.get("error") or {})
    if not (work.stage is Stage.DONE and work.outcome is not None):
        final = Outcome.LEASED if name == "LeaseHeld" else Outcome.FAILED
        work = replace(work, stage=Stage.DONE, outcome=final, error=message, error_type=name)
    work = publish_step(svc, run.settings, work)
    outcome = work.outcome.value if work.outcome else ""
    log("point.failed", str(event.get("execution", "")), ami_id=work.ami_id, error=name, outcome=outcome)
    return {"ami_id": work.ami_id, "outcome": outcome}


def write_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """WriteReport: the run's report in ``logs/`` from its result objects; what to notify."""
    run, svc = _run(event)
    bucket = run.settings.bucket
    _, _, works = runs.load_candidates(svc, bucket, run.run_id)
    for work in works:  # a point that left no result is reported as failed, never left out
        if svc.s3.head(bucket, keys.result_key(run.run_id, work.ami_id)) is None:
            lost = replace(work, stage=Stage.DONE, outcome=Outcome.FAILED, error="the run recorded no result")
            publish_step(svc, run.settings, lost)
    report = report_step(svc, run.settings, run.run_id, run.started)
    counts = dict(report.counts())
    troubled = [i for i in report.items if i.get("outcome") in NOTIFY_OUTCOMES]
    lines = [f"coldvault run {run.run_id}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    lines += [f"report: s3://{bucket}/{report.keys.get('json', '')}"]
    for item in troubled[:LISTED_IN_MESSAGE]:
        why = item.get("error") or item.get("deletion_pending") or ""
        lines.append(f"- {item.get('ami_id')} {item.get('outcome')}: {why}")
    if len(troubled) > LISTED_IN_MESSAGE:
        lines.append(f"… and {len(troubled) - LISTED_IN_MESSAGE} more in the report")
    log("run.reported", str(event.get("execution", "")), run_id=run.run_id, counts=counts)
    return {
        "run_id": run.run_id,
        "bucket": bucket,
        "report": report.keys,
        "counts": counts,
        "notify": bool(troubled),
        "subject": f"coldvault: {len(troubled)} recovery point(s) failed or kept in run {run.run_id}",
        "message": "\n".join(lines),
    }

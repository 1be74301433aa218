"""The restore state machine's Lambda handlers: one per Task state of ``restore.asl.json``, each a thin
call of one step of :mod:`coldvault.restore.steps` (the same steps ``coldvault restore`` runs).

``prepare`` takes the execution's input ``{"request": {"ref", "tier", "days", "name", "kms_key_id",
"bucket", "deadline_hours"}}``; the others take ``{"work": …}``. Each returns ``{"work": …,
"wait_seconds": n}``: the Choice states read ``$.work.stage``, the Wait states ``$.wait_seconds``.
Failures are raised as coldvault errors (Step Functions sees the class name). The bucket and the
status queue default to the deployment's SSM parameters ``<path>/bucket`` and ``<path>/queue-url``.
Like the archive handlers, they build their :class:`~coldvault.pipeline.services.Services` over the
session :func:`~coldvault.cloud.runtime.cached_session` keeps across warm invocations.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from coldvault.aws.ssm import Ssm
from coldvault.clock import SystemClock
from coldvault.cloud.runtime import CONFIG_PATH_ENV, cached_session, caught_error, environ, log
from coldvault.errors import ColdvaultError, ConfigurationError
from coldvault.pipeline.services import Services, services_from_session
from coldvault.restore import engine, steps
from coldvault.restore.policy import RestoreOptions, parse_tier
from coldvault.restore.steps import RestoreWork


@dataclass(frozen=True)
class _Context:
    svc: Services
    params: dict[str, str]


def _context(*, settings: bool = False) -> _Context:
    """This invocation's services (over the cached session) and, when asked, the SSM settings."""
    env = environ()
    aws = cached_session(env)
    path = env.get(CONFIG_PATH_ENV, "")
    params = Ssm(aws.client("ssm")).parameters(path) if settings and path else {}
    return _Context(services_from_session(aws, clock=SystemClock()), params)


def _out(work: RestoreWork) -> dict[str, Any]:
    return {"work": work.to_json(), "wait_seconds": max(1, math.ceil(work.next_poll_seconds or 1))}


def _work(event: dict[str, Any]) -> RestoreWork:
    return RestoreWork.from_json(event["work"])


def prepare(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Prepare: find the archive and check the request; nothing is changed."""
    request = dict(event.get("request") or {})
    ctx = _context(settings=True)
    bucket = request.get("bucket") or ctx.params.get("bucket")
    if not bucket:
        raise ConfigurationError("no bucket in the request and no 'bucket' SSM parameter")
    options = RestoreOptions(
        tier=parse_tier(str(request.get("tier") or "Standard")),
        days=int(request.get("days") or 3),
        name=request.get("name") or None,
        kms_key_id=request.get("kms_key_id") or None,
        deadline_seconds=float(request.get("deadline_hours") or 72) * 3600,
    )
    execution = str(event.get("execution", ""))
    run_id = hashlib.sha256(execution.encode()).hexdigest()[:12] if execution else None
    work = steps.prepare(ctx.svc, options, str(request.get("ref", "")), bucket=str(bucket), run_id=run_id)
    log("restore.prepared", execution, archive=work.archive_key, stage=work.stage.value, adopted=work.adopted)
    return _out(work)


def thaw(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Thaw: RestoreObject when the class needs it (attaches to a restore already running)."""
    return _out(steps.thaw(_context().svc, _work(event)))


def check_thaw(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CheckThaw: readable yet? (RestoreDeadlineExceeded past the deadline)."""
    return _out(steps.check_thaw(_context().svc, _work(event)))


def start_image(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """StartImage: CreateRestoreImageTask with the tags at creation."""
    return _out(steps.start_image(_context().svc, _work(event)))


def check_image(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CheckImage: the AMI pending, available (or RestoreFailed)."""
    return _out(steps.check_image(_context().svc, _work(event)))


def encrypt(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Encrypt: the encrypted copy of the plain restored AMI."""
    return _out(steps.encrypt(_context().svc, _work(event)))


def publish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish (and RecordFailure, given ``error``): status message + report entry."""
    ctx = _context(settings=True)
    work = _work(event)
    error = event.get("error")
    if error:
        name, message = caught_error(error)
        work = steps.fail(work, ColdvaultError(message), error_type=name)
    engine.publish(ctx.svc, work, queue_url=ctx.params.get("queue-url") or None)
    log("restore.published", str(event.get("execution", "")), stage=work.stage.value, image=work.image_id)
    return _out(work)

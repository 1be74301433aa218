"""The restore state machine's Lambda handlers: one per Task state of ``restore.asl.json``, each a thin
call of one step of :mod:`coldvault.restore.steps` (the same steps ``coldvault restore`` runs).

``prepare`` takes the execution's input ``{"request": {"ref", "tier", "days", "name", "kms_key_id",
"bucket", "deadline_hours"}}``; the others take ``{"work": …}``. Each returns ``{"work": …,
"wait_seconds": n}``: the Choice states read ``$.work.stage``, the Wait states ``$.wait_seconds``.
Failures are raised as coldvault errors (Step Functions sees the class name). The bucket and the
status queue default to the deployment's SSM parameters ``<path>/bucket`` and ``<path>/queue-url``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from coldvault.aws.lambda_runtime import session_from_environment
from coldvault.aws.ssm import Ssm
from coldvault.clock import SystemClock
from coldvault.cloud.runtime import CONFIG_PATH_ENV, environ, log
from coldvault.errors import ColdvaultError, ConfigurationError
from coldvault.restore import engine, steps
from coldvault.restore.policy import RestoreOptions, parse_tier
from coldvault.restore.steps import RestoreServices, RestoreWork

# IAM actions the restore functions' role grants that no coldvault code calls itself, and why
# (the wiring test checks: granted == called by the restore path + these).
GRANTED_ON_OUR_BEHALF: dict[str, str] = {
    "logs:CreateLogStream": "Lambda writes the functions' logs to their log group",
    "logs:PutLogEvents": "Lambda writes the functions' logs to their log group",
    "kms:Decrypt": "EC2 reads encrypted snapshots while copying; S3 decrypts SSE-KMS archives",
    "kms:GenerateDataKey": "S3 encrypts the SSE-KMS report objects (only when KmsKeyArn is set)",
    "kms:GenerateDataKeyWithoutPlaintext": "EC2 encrypts the snapshots of an encrypted copy",
    "kms:ReEncryptFrom": "EC2 re-encrypts snapshots under the copy's KMS key",
    "kms:ReEncryptTo": "EC2 re-encrypts snapshots under the copy's KMS key",
}


@dataclass(frozen=True)
class _Context:
    svc: RestoreServices
    params: dict[str, str]


def _context() -> _Context:
    env = environ()
    aws = session_from_environment(env)
    path = env.get(CONFIG_PATH_ENV, "")
    params = Ssm(aws.client("ssm")).parameters(path) if path else {}
    svc = RestoreServices(
        s3=aws.client("s3"),
        ec2=aws.client("ec2"),
        sqs=aws.client("sqs"),
        clock=SystemClock(),
        region=aws.region_name,
    )
    return _Context(svc, params)


def _out(work: RestoreWork) -> dict[str, Any]:
    return {"work": work.to_json(), "wait_seconds": max(1, math.ceil(work.next_poll_seconds or 1))}


def _work(event: dict[str, Any]) -> RestoreWork:
    return RestoreWork.from_json(event["work"])


def prepare(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Prepare: find the archive and check the request; nothing is changed."""
    request = dict(event.get("request") or {})
    ctx = _context()
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
    ctx = _context()
    work = _work(event)
    error = event.get("error")
    if error:
        name, message = _caught(error)
        work = steps.fail(work, ColdvaultError(message), error_type=name)
    engine.publish(ctx.svc, work, queue_url=ctx.params.get("queue-url") or None)
    log("restore.published", str(event.get("execution", "")), stage=work.stage.value, image=work.image_id)
    return _out(work)


def _caught(error: dict[str, Any]) -> tuple[str, str]:
    """(error name, message) of an error a Catch recorded; a Lambda's Cause is its JSON error."""
    name, cause = str(error.get("Error", "")), str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
    except ValueError:
        return name, cause or name
    if isinstance(parsed, dict):
        return name, str(parsed.get("errorMessage") or cause)
    return name, cause

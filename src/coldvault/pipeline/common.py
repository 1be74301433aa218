"""Helpers shared by the steps: timings, failure records, the source-ARN metadata key."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from coldvault.errors import AccessDenied, AwsError, ColdvaultError, NotFound, Throttled
from coldvault.models import Outcome, PointWork, Stage
from coldvault.pipeline.services import Services

SOURCE_ARN_META = "coldvault-source-arn"
# Server-side codes that say "try again" (AWS's retryable errors beyond throttling): a wait can outlast them.
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServerInternal",
        "503",
        "500",
    }
)


def timed(work: PointWork, step: str, started: float, svc: Services, **changes: Any) -> PointWork:
    """``work`` with ``changes`` and the step's elapsed seconds added to its timings."""
    timings = dict(work.timings)
    timings[step] = round(timings.get(step, 0.0) + svc.clock.monotonic() - started, 3)
    return replace(work, timings=timings, **changes)


def failed(work: PointWork, exc: BaseException) -> PointWork:
    """The point's final record after a failure: the recovery point is kept."""
    message = exc.one_line() if isinstance(exc, ColdvaultError) else f"{type(exc).__name__}: {exc}"
    return replace(
        work, stage=Stage.DONE, outcome=Outcome.FAILED, error=message, error_type=type(exc).__name__
    )


def is_ours(metadata: dict[str, str], work: PointWork) -> bool:
    return metadata.get(SOURCE_ARN_META) == work.point.arn


def is_transient(exc: BaseException) -> bool:
    """Whether waiting and asking again can cure ``exc``: throttling, a server-side error, or no answer
    at all (a connection error has no code). Access denied, not found and validation errors (every
    other code AWS names) will not go away by waiting: the points they concern fail with the reason.
    """
    if isinstance(exc, Throttled):
        return True
    if isinstance(exc, AccessDenied | NotFound) or not isinstance(exc, AwsError):
        return False
    return not exc.code or exc.code in TRANSIENT_CODES

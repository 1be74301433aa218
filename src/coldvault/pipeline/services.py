"""What the archive and restore steps talk to: the AWS adapters, the Region, a clock, the lease owner,
a step observer. Both engines build one with :func:`services_from_session` (the Lambda handlers over
the session :func:`coldvault.cloud.runtime.cached_session` keeps across warm invocations)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from coldvault.aws.backup import Backup
from coldvault.aws.ec2 import Ec2
from coldvault.aws.s3 import S3
from coldvault.aws.session import AwsSession
from coldvault.aws.sqs import Sqs
from coldvault.clock import Clock
from coldvault.lease import LeaseOwner, StaleCheck


def _never(_: dict[str, Any]) -> bool:
    return False


class StepObserver(Protocol):
    """Told each time a point passes a step boundary, in the thread that passed it.

    The boundaries: ``store`` (task started), ``stored``, ``copy_part`` (one part copied), ``copy``,
    ``manifest`` (written), ``verify``, ``delete`` (requested), ``deleted`` (confirmed), ``publish``.
    The product observes nothing; a program embedding coldvault (its crash tests, for one) installs an
    observer with :func:`observing_steps`.
    """

    def __call__(self, step: str, ami_id: str) -> None: ...


def _no_hook(step: str, ami_id: str) -> None:
    return None


_OBSERVER: ContextVar[StepObserver] = ContextVar("coldvault_step_observer", default=_no_hook)


@contextmanager
def observing_steps(observer: StepObserver) -> Iterator[None]:
    """Services made by :func:`services_from_session` inside the block report to ``observer``."""
    token = _OBSERVER.set(observer)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


@dataclass
class Services:
    backup: Backup
    ec2: Ec2
    s3: S3
    sqs: Sqs
    clock: Clock
    region: str = ""  # the clients' Region (a restore checks the bucket is in it)
    owner: LeaseOwner = field(default_factory=lambda: LeaseOwner(run_id=""))
    stale_lease: StaleCheck = _never
    after_step: StepObserver = _no_hook


def services_from_session(
    aws: AwsSession, *, clock: Clock | None = None, owner: LeaseOwner | None = None
) -> Services:
    """The adapters over one session's clients (created on first use, never at import)."""
    return Services(
        backup=Backup(aws.client("backup")),
        ec2=Ec2(aws.client("ec2")),
        s3=S3(aws.client("s3")),
        sqs=Sqs(aws.client("sqs")),
        clock=clock or aws.clock,  # the endpoint's time (coldvault.clock.ServerClock)
        region=aws.region_name,
        owner=owner or LeaseOwner(run_id=""),
        after_step=_OBSERVER.get(),
    )

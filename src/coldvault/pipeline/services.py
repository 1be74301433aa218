"""What the archive steps talk to: the AWS adapters, a clock, the lease owner, test hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coldvault.aws.backup import Backup
from coldvault.aws.ec2 import Ec2
from coldvault.aws.kms import Kms
from coldvault.aws.s3 import S3
from coldvault.aws.session import AwsSession
from coldvault.aws.sqs import Sqs
from coldvault.clock import Clock, SystemClock
from coldvault.lease import LeaseOwner, StaleCheck


def _never(_: dict[str, Any]) -> bool:
    return False


def _no_hook(step: str, ami_id: str) -> None:
    return None


@dataclass
class Services:
    backup: Backup
    ec2: Ec2
    s3: S3
    sqs: Sqs
    clock: Clock
    # The AMIs' snapshot keys are checked through it (coldvault.preflight.key_problems); None only
    # in unit tests' services, which then check no key.
    kms: Kms | None = None
    owner: LeaseOwner = field(default_factory=lambda: LeaseOwner(run_id=""))
    stale_lease: StaleCheck = _never
    # Called after each step boundary (step name, AMI id): the CLI's test-only crash hook uses it.
    after_step: Callable[[str, str], None] = _no_hook


def services_from_session(
    aws: AwsSession, *, clock: Clock | None = None, owner: LeaseOwner | None = None
) -> Services:
    """The adapters over one session's clients (created on first use, never at import)."""
    return Services(
        backup=Backup(aws.client("backup")),
        ec2=Ec2(aws.client("ec2")),
        s3=S3(aws.client("s3")),
        sqs=Sqs(aws.client("sqs")),
        clock=clock or SystemClock(),
        kms=Kms(aws.client("kms")),
        owner=owner or LeaseOwner(run_id=""),
    )

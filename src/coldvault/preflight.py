"""The checks made before an archive run changes anything: both engines call :func:`check`.

The vault exists; the bucket exists in the Region the run works in (EC2 stores an AMI only to a
bucket there); and, for a run that will change things, the bucket blocks public access and encrypts
by default, and the status queue (if any) exists. A failed check raises
:class:`~coldvault.errors.PreflightError` naming the problem and its fix: the CLI exits 2, the
Lambda handler fails the run (the state machine reports the error and its message).
"""

from __future__ import annotations

from coldvault.config import Settings
from coldvault.errors import NotFound, PreflightError
from coldvault.pipeline.services import Services


def check(svc: Services, settings: Settings, *, region: str, changing: bool) -> None:
    """Raise :class:`PreflightError` for the first failed check (read-only calls only)."""
    try:
        svc.backup.describe_vault(settings.vault)
    except NotFound as exc:
        raise PreflightError(
            f"backup vault {settings.vault!r} does not exist", hint="check --vault and --region"
        ) from exc
    try:
        security = svc.s3.bucket_security(settings.bucket)
    except NotFound as exc:
        raise PreflightError(
            f"bucket {settings.bucket!r} does not exist", hint="create it or fix --bucket"
        ) from exc
    if security.region != region:
        raise PreflightError(
            f"bucket {settings.bucket!r} is in {security.region}, not {region}",
            hint="EC2 stores AMIs only to a bucket in the same Region: use a bucket there or pass --region",
        )
    if not changing:
        return
    if not security.blocks_public_access:
        raise PreflightError(
            f"bucket {settings.bucket!r} does not block public access",
            hint="turn on all four S3 Block Public Access settings for it",
        )
    if not security.encryption:
        raise PreflightError(
            f"bucket {settings.bucket!r} has no default encryption",
            hint="set SSE-S3 or SSE-KMS default encryption (stored AMIs are decrypted into it)",
        )
    if settings.queue_url:
        try:
            svc.sqs.check_queue(settings.queue_url)
        except NotFound as exc:
            raise PreflightError(
                f"queue {settings.queue_url} does not exist", hint="fix --queue-url"
            ) from exc

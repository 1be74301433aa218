"""The checks made before an archive run changes anything: both engines call :func:`check`.

The vault exists; the bucket exists in the Region the run works in (EC2 stores an AMI only to a
bucket there); and, for a run that will change things, the bucket blocks public access and encrypts
by default, and the status queue (if any) exists. A failed check raises
:class:`~coldvault.errors.PreflightError` naming the problem and its fix: the CLI exits 2, the
Lambda handler fails the run (the state machine reports the error and its message).

:func:`key_problems` checks, per candidate AMI, the KMS keys of its encrypted snapshots: EC2 reads
them while storing, with the caller's permissions ("If the snapshots that make up the AMI are
encrypted ... your IAM principal must have permission to use the KMS key", EC2 User Guide). A key
that is deleted, disabled, pending deletion or that the caller may not even describe makes the
store task fail hours later; the listing skips such a point with the key and the fix instead.
``DescribeImages`` does not name a snapshot's key (``EbsBlockDevice.KmsKeyId`` is only filled for
RunInstances, botocore model), so the keys come from ``DescribeSnapshots``.
"""

from __future__ import annotations

from collections.abc import Mapping

from coldvault.aws.ec2 import ImageInfo
from coldvault.config import Settings
from coldvault.errors import AccessDenied, AwsError, NotFound, PreflightError
from coldvault.pipeline.services import Services

KEY_POLICY_HINT = "its key policy must allow this role (docs/cloud.md, KMS keys)"


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


def _encrypted_snapshots(image: ImageInfo) -> list[str]:
    found = []
    for device in image.block_devices:
        ebs = device.get("Ebs") or {}
        if ebs.get("Encrypted") and ebs.get("SnapshotId"):
            found.append(str(ebs["SnapshotId"]))
    return found


def _key_problem(svc: Services, key: str) -> str:
    """Why ``key`` cannot be used to read a snapshot, or "" when it looks usable."""
    if svc.kms is None:
        return ""
    try:
        info = svc.kms.describe_key(key)
    except NotFound:
        return f"KMS key {key} does not exist (deleted): the snapshot cannot be read"
    except AccessDenied:
        return f"KMS key {key} may not be used by this role (DescribeKey denied): {KEY_POLICY_HINT}"
    except AwsError as exc:
        return f"KMS key {key} could not be checked ({exc.code or exc.message})"
    if info.state != "Enabled":
        return f"KMS key {key} is {info.state}: enable it (or cancel its deletion) to archive this point"
    return ""


def key_problems(svc: Services, images: Mapping[str, ImageInfo]) -> dict[str, str]:
    """AMI id -> why EC2 could not read its encrypted snapshots (each unusable key named once per AMI);
    AMIs whose keys all look usable are absent. One ``DescribeSnapshots`` per 200 snapshots and one
    ``DescribeKey`` per distinct key."""
    snapshots = {ami: _encrypted_snapshots(image) for ami, image in images.items()}
    wanted = sorted({s for snaps in snapshots.values() for s in snaps})
    if not wanted:
        return {}
    snapshot_keys = svc.ec2.snapshot_keys(wanted)
    verdicts = {key: _key_problem(svc, key) for key in sorted(set(snapshot_keys.values()))}
    problems: dict[str, str] = {}
    for ami, snaps in snapshots.items():
        lines = []
        for key in sorted({snapshot_keys[s] for s in snaps if s in snapshot_keys}):
            if verdicts[key]:
                used_by = ", ".join(s for s in snaps if snapshot_keys.get(s) == key)
                lines.append(f"snapshot {used_by}: {verdicts[key]}")
        if lines:
            problems[ami] = "; ".join(lines)
    return problems

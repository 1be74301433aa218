"""Per-recovery-point leases: two runs at once never process the same point.

A lease is a small JSON object at ``keys.lease_key(ami_id)`` written with S3's conditional write
(``PutObject`` with ``If-None-Match: *``): of two runs racing, exactly one creates it. It names its
holder (run id, host, process id) and expires; an expired lease, or one whose holder is known to be
dead (the engine decides, e.g. a crashed CLI process on this host), is taken over with
``If-Match: <its ETag>`` so two runs taking over the same stale lease cannot both win. The lease is
released (conditional delete) after the point's result is published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3, PreconditionFailed
from coldvault.errors import LeaseHeld


@dataclass(frozen=True)
class LeaseOwner:
    run_id: str
    host: str = ""
    pid: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "host": self.host, "pid": self.pid}


StaleCheck = Callable[[dict[str, Any]], bool]


def _never_stale(_: dict[str, Any]) -> bool:
    return False


def acquire(
    s3: S3,
    bucket: str,
    ami_id: str,
    owner: LeaseOwner,
    *,
    now: datetime,
    seconds: float,
    is_stale: StaleCheck = _never_stale,
) -> str:
    """Take the lease on ``ami_id``; its ETag. Raises :class:`LeaseHeld` when another live run holds it."""
    key = keys.lease_key(ami_id)
    body = {**owner.to_json(), "ami_id": ami_id, "acquired_at": now.isoformat()}
    body["expires_at"] = (now + timedelta(seconds=seconds)).isoformat()
    try:
        return s3.put_json(bucket, key, body, if_none_match=True)
    except PreconditionFailed:
        pass
    current = s3.get_json_with_etag(bucket, key)
    if current is None:  # released in between: try once more
        try:
            return s3.put_json(bucket, key, body, if_none_match=True)
        except PreconditionFailed:
            raise LeaseHeld(f"{ami_id}: another run took the lease") from None
    held, etag = current
    expired = datetime.fromisoformat(str(held.get("expires_at"))) <= now
    if held.get("run_id") != owner.run_id and not expired and not is_stale(held):
        raise LeaseHeld(f"{ami_id}: run {held.get('run_id')} holds the lease until {held.get('expires_at')}")
    try:
        return s3.put_json(bucket, key, body, if_match=etag)
    except PreconditionFailed:
        raise LeaseHeld(f"{ami_id}: another run took the lease") from None


def release(s3: S3, bucket: str, ami_id: str, owner: LeaseOwner) -> None:
    """Delete the lease if this run still holds it."""
    key = keys.lease_key(ami_id)
    current = s3.get_json_with_etag(bucket, key)
    if current is None or current[0].get("run_id") != owner.run_id:
        return
    try:
        s3.delete(bucket, key, if_match=current[1])
    except PreconditionFailed:
        return


def sweep(s3: S3, bucket: str, *, now: datetime, is_stale: StaleCheck = _never_stale) -> int:
    """Delete leases whose holder is gone (expired, or known dead); how many were removed.

    A crashed run leaves the leases of points it had finished; nothing else would remove them.
    """
    removed = 0
    for key in list(s3.iter_keys(bucket, keys.LEASE_PREFIX)):
        current = s3.get_json_with_etag(bucket, key)
        if current is None:
            continue
        held, etag = current
        expired = datetime.fromisoformat(str(held.get("expires_at"))) <= now
        if expired or is_stale(held):
            try:
                s3.delete(bucket, key, if_match=etag)
            except PreconditionFailed:
                continue
            removed += 1
    return removed

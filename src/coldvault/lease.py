"""Per-recovery-point leases: two runs at once never process the same point.

A lease is a small JSON object at ``keys.lease_key(ami_id)`` written with S3's conditional write
(``PutObject`` with ``If-None-Match: *``): of two runs racing, exactly one creates it. It names its
holder (run id, host, process id) and expires; an expired lease, or one whose holder is known to be
dead (the engine decides, e.g. a crashed CLI process on this host), is taken over with
``If-Match: <its ETag>`` so two runs taking over the same stale lease cannot both win. The lease is
released (conditional delete) after the point's result is published.

A lease is short (``Settings.lease_seconds``, minutes) and renewed while its point is worked on: the
CLI runner renews every lease it holds at a fixed interval (:func:`renew`, only while the lease is
still its own), and each cloud step takes it again before it acts (:func:`acquire` by the same run
renews). A holder that stops renewing — killed, interrupted, a state machine that failed — loses
the point within minutes to whichever runner comes next, which observes what is already done and
continues: a started store task is reused, a multipart copy resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3, PreconditionFailed
from coldvault.errors import ColdvaultError, LeaseHeld


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


def renew(s3: S3, bucket: str, ami_id: str, owner: LeaseOwner, *, now: datetime, seconds: float) -> bool:
    """Push the lease's expiry to ``now + seconds`` if this run still holds it; False when it does not.

    Never creates a lease: one released (the point was published) or taken over stays so.
    """
    key = keys.lease_key(ami_id)
    try:
        current = s3.get_json_with_etag(bucket, key)
        if current is None or current[0].get("run_id") != owner.run_id:
            return False
        held, etag = current
        body = {
            **held,
            "renewed_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=seconds)).isoformat(),
        }
        s3.put_json(bucket, key, body, if_match=etag)
    except (PreconditionFailed, ColdvaultError):  # released or taken over in between: not ours any more
        return False
    return True


def release(s3: S3, bucket: str, ami_id: str, owner: LeaseOwner) -> None:
    """Delete the lease if this run still holds it (a renewal racing the delete is retried)."""
    key = keys.lease_key(ami_id)
    for _ in range(3):
        current = s3.get_json_with_etag(bucket, key)
        if current is None or current[0].get("run_id") != owner.run_id:
            return
        try:
            s3.delete(bucket, key, if_match=current[1])
        except PreconditionFailed:
            continue
        return


@dataclass(frozen=True)
class Held:
    """A lease as stored, for ``coldvault leases``."""

    ami_id: str
    run_id: str
    host: str
    pid: int
    acquired_at: str
    expires_at: str
    renewed_at: str
    etag: str

    def state(self, now: datetime, is_stale: StaleCheck = _never_stale) -> str:
        """``live`` (its holder renews it), ``expired``, or ``holder gone`` (known dead)."""
        if datetime.fromisoformat(self.expires_at) <= now:
            return "expired"
        if is_stale({"run_id": self.run_id, "host": self.host, "pid": self.pid}):
            return "holder gone"
        return "live"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "etag"}


def held_leases(s3: S3, bucket: str) -> list[Held]:
    """Every lease in the bucket, oldest first."""
    found: list[Held] = []
    for key in list(s3.iter_keys(bucket, keys.LEASE_PREFIX)):
        current = s3.get_json_with_etag(bucket, key)
        if current is None:
            continue
        body, etag = current
        found.append(
            Held(
                ami_id=str(body.get("ami_id") or key.rsplit("/", 1)[-1].removesuffix(".json")),
                run_id=str(body.get("run_id", "")),
                host=str(body.get("host", "")),
                pid=int(body.get("pid") or 0),
                acquired_at=str(body.get("acquired_at", "")),
                expires_at=str(body.get("expires_at", "")),
                renewed_at=str(body.get("renewed_at") or body.get("acquired_at", "")),
                etag=etag,
            )
        )
    return sorted(found, key=lambda h: h.acquired_at)


def remove(s3: S3, bucket: str, held: Held) -> bool:
    """Delete exactly the lease ``held`` names (its ETag): False when it changed since (renewed, taken)."""
    try:
        s3.delete(bucket, keys.lease_key(held.ami_id), if_match=held.etag)
    except PreconditionFailed:
        return False
    return True


def release_run(s3: S3, bucket: str, owner: LeaseOwner) -> list[str]:
    """Release every lease this run holds; the AMIs released."""
    released = []
    for held in held_leases(s3, bucket):
        if held.run_id == owner.run_id and remove(s3, bucket, held):
            released.append(held.ami_id)
    return released


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

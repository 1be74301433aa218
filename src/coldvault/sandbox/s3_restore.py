"""``RestoreObject`` on ``GLACIER``/``DEEP_ARCHIVE`` objects, on the sandbox's virtual clock.

moto restores at once, or after a number of reads counted from the object's creation (its state
manager), ignores the tier, and answers a second request during a restore with 200. Here a restore
is an :class:`ArchiveRestore` kept on moto's ``FakeKey``: it completes after the tier's typical
duration x ``glacier_restore_scale`` of sandbox time (``0``, the default, completes at once), and
the ``Restore`` header, ``GetObject``/``CopyObject`` readability and the expiry all follow from it,
as in AWS:

- a new request answers ``202``; ``Restore: ongoing-request="true"`` until completion, then
  ``ongoing-request="false", expiry-date="…"`` (completion + ``Days``, rounded up to midnight UTC);
  after the expiry the temporary copy is gone (no header, not readable);
- a request while one is in progress fails ``409 RestoreAlreadyInProgress`` (unless it asks for a
  faster tier: a restore speed upgrade, ``202``);
- a request on a restored object answers ``200`` and moves the expiry to now + ``Days``;
- ``Expedited`` on ``DEEP_ARCHIVE`` and a class that needs no restore are refused.

:func:`install` patches moto's ``FakeKey`` (its ``status`` and ``_expiry``) and the POST handler of
``S3Response`` for ``?restore``. It also limits moto's "not restored" refusal (``InvalidObjectState``)
to ``GetObject``, the read of an archived object's *data*, as S3 does: moto refuses
``GetObjectTagging``, ``GetObjectAcl`` and ``GetObjectLegalHold`` too, while S3 answers them (and
``HeadObject``, ``PutObjectTagging``) for an object in any storage class, restored or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from coldvault.sandbox.state import STATE

HOUR = 3600.0
# AWS's typical completion times ("within"), the upper end of each documented range.
TIER_SECONDS: dict[tuple[str, str], float] = {
    ("GLACIER", "Expedited"): 5 * 60.0,
    ("GLACIER", "Standard"): 5 * HOUR,
    ("GLACIER", "Bulk"): 12 * HOUR,
    ("DEEP_ARCHIVE", "Standard"): 12 * HOUR,
    ("DEEP_ARCHIVE", "Bulk"): 48 * HOUR,
}
TIER_RANK = {"Expedited": 0, "Standard": 1, "Bulk": 2}  # lower is faster
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
_RESTORE = "_coldvault_restore"  # the FakeKey attribute holding its ArchiveRestore
_MOTO_EXPIRY = "_coldvault_moto_expiry"
_READS_DATA = "_coldvault_reads_data"  # set on moto's S3Response while it answers GetObject


class RestoreRefused(Exception):
    """A ``RestoreObject`` AWS refuses: ``code``, ``message`` and HTTP ``status`` as AWS sends them."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class ArchiveRestore:
    """One restore of an archived object: requested, done at ``completes_at``, gone at ``expires_at``."""

    tier: str
    days: int
    requested_at: datetime
    completes_at: datetime
    expires_at: datetime
    completion_notified: bool = False

    def in_progress(self, now: datetime) -> bool:
        return now < self.completes_at

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def restore_seconds(storage_class: str, tier: str) -> float:
    """Sandbox seconds a restore of ``storage_class`` at ``tier`` takes (the scale applied)."""
    return TIER_SECONDS[(storage_class, tier)] * max(0.0, STATE.settings.glacier_restore_scale)


def expiry_after(moment: datetime, days: int) -> datetime:
    """``moment`` + ``days``, rounded up to the next midnight UTC (as S3 computes a restore's expiry)."""
    end = (moment + timedelta(days=days)).astimezone(UTC)
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == end else midnight + timedelta(days=1)


def current_restore(key: Any) -> ArchiveRestore | None:
    """The key's restore, or None (never requested, or the temporary copy has expired)."""
    restore: ArchiveRestore | None = key.__dict__.get(_RESTORE)
    if restore is not None and restore.expired(STATE.clock.now()):
        key.__dict__[_RESTORE] = None
        return None
    return restore


def request_restore(key: Any, days: int | None, tier: str | None) -> int:
    """Apply one ``RestoreObject`` to moto's ``key``; the HTTP status of the answer (202 or 200)."""
    storage_class = str(key.storage_class)
    if storage_class not in ARCHIVE_CLASSES:
        raise RestoreRefused(
            "InvalidObjectState",
            f"Restore is not allowed for the object's current storage class ({storage_class}).",
            403,
        )
    tier = tier or "Standard"
    if tier not in TIER_RANK:
        raise RestoreRefused("MalformedXML", f"Tier {tier!r} is not one of Expedited, Standard, Bulk.", 400)
    if (storage_class, tier) not in TIER_SECONDS:
        raise RestoreRefused(
            "InvalidArgument",
            f"The {tier} retrieval tier is not supported for the {storage_class} storage class.",
            400,
        )
    if days is None or days < 1:
        raise RestoreRefused(
            "InvalidArgument", "Days must be a positive integer for a restore of an archived object.", 400
        )
    now = STATE.clock.now()
    existing = current_restore(key)
    if existing is not None and existing.in_progress(now):
        if TIER_RANK[tier] >= TIER_RANK[existing.tier]:
            raise RestoreRefused("RestoreAlreadyInProgress", "Object restore is already in progress", 409)
        # A restore speed upgrade: the faster tier runs alongside; whichever finishes first wins.
        done = min(existing.completes_at, now + timedelta(seconds=restore_seconds(storage_class, tier)))
        existing.tier, existing.days, existing.completes_at = tier, days, done
        existing.expires_at = expiry_after(done, days)
        return 202
    if existing is not None:
        existing.days = days
        existing.expires_at = expiry_after(now, days)  # relative to now, as S3 does for a renewal
        return 200
    done = now + timedelta(seconds=restore_seconds(storage_class, tier))
    key.__dict__[_RESTORE] = ArchiveRestore(tier, days, now, done, expiry_after(done, days))
    _notify(key, "OBJECT_RESTORE_POST_EVENT")
    return 202


def _notify(key: Any, event: str) -> None:
    from moto.s3 import notifications

    from coldvault.sandbox.s3_objects import s3_backend

    bucket = s3_backend(key.account_id).buckets.get(key.bucket_name or "")  # no side effects
    if bucket is not None:
        notifications.send_event(
            key.account_id, getattr(notifications.S3NotificationEvent, event), bucket, key=key
        )


def _status(key: Any) -> str | None:
    """moto's ``FakeKey.status``: ``IN_PROGRESS``/``RESTORED`` from the key's restore, else None."""
    restore = current_restore(key)
    if restore is None:
        return None
    if restore.in_progress(STATE.clock.now()):
        return "IN_PROGRESS"
    if not restore.completion_notified:
        restore.completion_notified = True
        _notify(key, "OBJECT_RESTORE_COMPLETED_EVENT")
    return "RESTORED"


def _get_expiry(key: Any) -> datetime | None:
    """moto's ``FakeKey._expiry``: what its ``Restore`` header and readability checks look at."""
    restore = current_restore(key)
    if restore is not None:
        return restore.expires_at
    value: datetime | None = key.__dict__.get(_MOTO_EXPIRY)
    return value


def _set_expiry(key: Any, value: datetime | None) -> None:
    key.__dict__[_MOTO_EXPIRY] = value
    if value is None:  # a new key, or a copy of an archived object: no restore
        key.__dict__[_RESTORE] = None


def _status_setter(key: Any, value: str | None) -> None:
    key._status = value


def _error_response(error: RestoreRefused, resource: str) -> tuple[int, dict[str, str], str]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>coldvault-sandbox</RequestId></Error>"
    )
    return error.status, {"Content-Type": "application/xml"}, body


def _restore_request(body: bytes) -> dict[str, str]:
    """The ``RestoreRequest`` members as ``{"Days": …, "GlacierJobParameters/Tier": …}`` (namespaces
    dropped)."""
    if not body.strip():
        return {}
    root = ElementTree.fromstring(body)  # noqa: S314 - a request to the local sandbox, as moto parses it
    found: dict[str, str] = {}

    def walk(element: ElementTree.Element, prefix: str) -> None:
        for child in element:
            name = prefix + child.tag.rsplit("}", 1)[-1]
            if len(child):
                walk(child, name + "/")
            else:
                found[name] = (child.text or "").strip()

    walk(root, "")
    return found


def _fault_refusal(kind: str, code: str, reason: str, status: int) -> RestoreRefused:
    if kind == "throttle":
        return RestoreRefused("SlowDown", "Please reduce your request rate.", 503)
    if kind == "access_denied":
        return RestoreRefused("AccessDenied", reason or "Access Denied (injected by the sandbox)", 403)
    return RestoreRefused(code or "InternalError", reason or "Injected error.", status)


def _restore_post(
    response: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str
) -> Any:
    from moto.s3.exceptions import MissingKey

    response._set_action("KEY", "POST", query)
    response._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=key_name)
    resource = f"/{bucket_name}/{key_name}"
    try:
        params = _restore_request(body)
    except ElementTree.ParseError:
        return _error_response(
            RestoreRefused("MalformedXML", "The XML you provided was not well-formed.", 400), resource
        )
    fault = STATE.faults.take("RestoreObject", bucket_name, key_name, f"{bucket_name}/{key_name}")
    if fault is not None:
        return _error_response(_fault_refusal(fault.kind, fault.code, fault.reason, fault.status), resource)
    version_id = query.get("versionId", [None])[0]
    key = response.backend.get_object(bucket_name, key_name, version_id=version_id)
    if key is None:
        raise MissingKey(key=key_name)
    days_text = params.get("Days")
    tier = params.get("GlacierJobParameters/Tier") or params.get("Tier")
    try:
        days = int(days_text) if days_text is not None else None
        status = request_restore(key, days, tier)
    except ValueError:
        return _error_response(
            RestoreRefused("MalformedXML", f"Days {days_text!r} is not a number.", 400), resource
        )
    except RestoreRefused as e:
        return _error_response(e, resource)
    return status, {}, ""


def install() -> None:
    """Make moto's S3 restores follow :mod:`this module <coldvault.sandbox.s3_restore>` (idempotent)."""
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    if getattr(S3Response._key_response_post, "_coldvault", False):
        return
    FakeKey.status = property(_status, _status_setter)
    FakeKey._expiry = property(_get_expiry, _set_expiry)
    original = S3Response._key_response_post

    def key_response_post(
        self: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str
    ) -> Any:
        if "restore" in query:
            return _restore_post(self, request, body, bucket_name, query, key_name)
        return original(self, request, body, bucket_name, query, key_name)

    key_response_post._coldvault = True  # type: ignore[attr-defined]
    S3Response._key_response_post = key_response_post
    _refuse_only_data_reads(S3Response)


def _refuse_only_data_reads(response_class: Any) -> None:
    """moto's ``S3Response._get_key`` checks the storage class for every operation that looks up
    a key (tagging, ACL, legal hold); only ``GetObject`` (which sets a flag here) keeps the check."""
    get_key = response_class._get_key
    get_object = response_class.get_object

    def _get_key(self: Any, validate_storage_class: bool = True) -> Any:
        reads_data = getattr(self, _READS_DATA, False)
        return get_key(self, validate_storage_class=validate_storage_class and reads_data)

    def get_object_reading_data(self: Any) -> Any:
        setattr(self, _READS_DATA, True)
        try:
            return get_object(self)
        finally:
            setattr(self, _READS_DATA, False)

    response_class._get_key = _get_key
    response_class.get_object = get_object_reading_data

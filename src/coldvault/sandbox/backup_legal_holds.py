"""AWS Backup legal holds: ``CreateLegalHold``, ``GetLegalHold``, ``ListLegalHolds``,
``CancelLegalHold``, ``ListRecoveryPointsByLegalHold``, and ``DeleteRecoveryPoint`` refused for a
recovery point an uncancelled hold includes.

As AWS does it: a hold selects the recovery points matching its ``RecoveryPointSelection`` (vault
names, resource ARNs, creation date range; an absent criterion selects everything) when it is
created; it is ``CREATING`` for a moment of sandbox time, then ``ACTIVE``; ``CancelLegalHold``
(HTTP 201, no body) makes it ``CANCELED`` with the cancellation's description and date, and a
cancelled hold's record stays listed. A held recovery point cannot be deleted:
``InvalidRequestException`` "The recovery point cannot be deleted because it has active legal
hold(s)". An ``IdempotencyToken`` seen before returns the hold it created.

Holds live on moto's ``BackupBackend`` object (one per account and Region), so moto's reset clears
them. :func:`install` adds the routes and operations; ``backup_responses.install`` calls it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from coldvault.sandbox import backup_models as models
from coldvault.sandbox.backup_listing import paginate
from coldvault.sandbox.errors import (
    InvalidParameterValueException,
    InvalidRequestException,
    InvalidResourceStateException,
    MissingParameterValueException,
    ResourceNotFoundException,
)
from coldvault.sandbox.state import STATE

CREATING_FOR_SECONDS = 1.0  # virtual seconds a new hold stays CREATING
HELD_MESSAGE = "The recovery point cannot be deleted because it has active legal hold(s)"

URL_PATHS = {
    "{0}/legal-holds$": "dispatch",
    "{0}/legal-holds/$": "dispatch",
    "{0}/legal-holds/(?P<legal_hold_id>[^/]+)$": "dispatch",
    "{0}/legal-holds/(?P<legal_hold_id>[^/]+)/$": "dispatch",
    "{0}/legal-holds/(?P<legal_hold_id>[^/]+)/recovery-points$": "dispatch",
}


@dataclass
class LegalHold:
    hold_id: str
    arn: str
    title: str
    description: str
    created: datetime
    selection: dict[str, Any]
    points: list[dict[str, str]]  # RecoveryPointMember of each point held, fixed at creation
    tags: dict[str, str] = field(default_factory=dict)
    cancelled: datetime | None = None
    cancel_description: str | None = None
    retain_record_until: datetime | None = None

    @property
    def status(self) -> str:
        if self.cancelled is not None:
            return "CANCELED"
        if (STATE.clock.now() - self.created).total_seconds() < CREATING_FOR_SECONDS:
            return "CREATING"
        return "ACTIVE"

    def summary(self) -> dict[str, Any]:
        """The ``LegalHold`` shape (ListLegalHolds)."""
        out: dict[str, Any] = {
            "Title": self.title,
            "Status": self.status,
            "Description": self.description,
            "LegalHoldId": self.hold_id,
            "LegalHoldArn": self.arn,
            "CreationDate": self.created,
        }
        if self.cancelled is not None:
            out["CancellationDate"] = self.cancelled
        return out

    def describe(self) -> dict[str, Any]:
        """GetLegalHold's output."""
        out = {**self.summary(), "RecoveryPointSelection": self.selection}
        if self.cancel_description is not None:
            out["CancelDescription"] = self.cancel_description
        if self.retain_record_until is not None:
            out["RetainRecordUntil"] = self.retain_record_until
        return out


class HoldStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.holds: dict[str, LegalHold] = {}  # insertion ordered
        self.tokens: dict[str, str] = {}  # IdempotencyToken -> hold id


def holds_for(backend: Any) -> HoldStore:
    store = backend.__dict__.get("_coldvault_legal_holds")
    if store is None:
        store = backend.__dict__.setdefault("_coldvault_legal_holds", HoldStore())
    return store  # type: ignore[no-any-return]


def holding(backend: Any, recovery_point_arn: str) -> list[LegalHold]:
    """The uncancelled holds that include the recovery point."""
    return [
        h
        for h in holds_for(backend).holds.values()
        if h.cancelled is None and any(p["RecoveryPointArn"] == recovery_point_arn for p in h.points)
    ]


def _timestamp(value: Any, name: str) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidParameterValueException(f"Invalid timestamp for {name}: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _selected(backend: Any, selection: dict[str, Any]) -> list[dict[str, str]]:
    vaults = selection.get("VaultNames") or None
    resources = selection.get("ResourceIdentifiers") or None
    dates = selection.get("DateRange")
    start = end = None
    if dates:
        start = _timestamp(dates["FromDate"], "FromDate")
        end = _timestamp(dates["ToDate"], "ToDate")
        if start > end:
            raise InvalidParameterValueException("DateRange FromDate must not be after ToDate")
    models.refresh_jobs(backend)
    chosen: list[dict[str, str]] = []
    for vault_name, points in models.store_for(backend).points.items():
        if vaults is not None and vault_name not in vaults:
            continue
        for point in points.values():
            if resources is not None and point.resource_arn not in resources:
                continue
            if start is not None and end is not None and not start <= point.creation_date <= end:
                continue
            chosen.append(
                {
                    "RecoveryPointArn": point.arn,
                    "ResourceArn": point.resource_arn,
                    "ResourceType": point.resource_type,
                    "BackupVaultName": point.vault_name,
                }
            )
    return chosen


def create_legal_hold(backend: Any, params: dict[str, Any]) -> LegalHold:
    for required in ("Title", "Description"):
        if not params.get(required):
            raise MissingParameterValueException(f"{required} is required")
    store = holds_for(backend)
    with store.lock:
        token = params.get("IdempotencyToken")
        if token and token in store.tokens:
            return store.holds[store.tokens[token]]
        selection = params.get("RecoveryPointSelection") or {}
        hold_id = str(uuid.uuid4())
        hold = LegalHold(
            hold_id=hold_id,
            arn=f"arn:aws:backup:{backend.region_name}:{backend.account_id}:legal-hold:{hold_id}",
            title=str(params["Title"]),
            description=str(params["Description"]),
            created=STATE.clock.now(),
            selection=selection,
            points=_selected(backend, selection),
            tags=dict(params.get("Tags") or {}),
        )
        store.holds[hold_id] = hold
        if token:
            store.tokens[token] = hold_id
        return hold


def find_hold(backend: Any, hold_id: str) -> LegalHold:
    hold = holds_for(backend).holds.get(hold_id)
    if hold is None:
        raise ResourceNotFoundException(f"Legal hold {hold_id} not found")
    return hold


def cancel_legal_hold(backend: Any, hold_id: str, description: str | None, retain_days: str | None) -> None:
    if not description:
        raise MissingParameterValueException("CancelDescription is required")
    hold = find_hold(backend, hold_id)
    with holds_for(backend).lock:
        if hold.cancelled is not None:
            raise InvalidResourceStateException(f"Legal hold {hold_id} is already {hold.status}")
        now = STATE.clock.now()
        hold.cancelled = now
        hold.cancel_description = description
        if retain_days not in (None, ""):
            try:
                days = int(str(retain_days))
            except ValueError as exc:
                raise InvalidParameterValueException(f"Invalid RetainRecordInDays: {retain_days}") from exc
            hold.retain_record_until = now + timedelta(days=days)


# -- the HTTP side (methods of moto's BackupResponse) ---------------------------------------------

Response = tuple[str, dict[str, str]]
JSON_HEADERS = {"Content-Type": "application/json"}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _dumps(body: dict[str, Any]) -> Response:
    return json.dumps({k: v for k, v in body.items() if v is not None}, default=_default), dict(JSON_HEADERS)


def _hold_id(self: Any) -> str:
    parts = [unquote(p) for p in self.parsed_url.path.split("/") if p]
    return parts[parts.index("legal-holds") + 1]


def _query(self: Any, name: str) -> str | None:
    values = self.querystring.get(name)
    return str(values[0]) if isinstance(values, list) and values else values


def http_create_legal_hold(self: Any) -> Response:
    models.check_fault("CreateLegalHold")
    hold = create_legal_hold(self.backup_backend, json.loads(self.body or "{}"))
    return _dumps({**hold.summary(), "RecoveryPointSelection": hold.selection})


def http_get_legal_hold(self: Any) -> Response:
    hold_id = _hold_id(self)
    models.check_fault("GetLegalHold", hold_id)
    return _dumps(find_hold(self.backup_backend, hold_id).describe())


def http_list_legal_holds(self: Any) -> Response:
    models.check_fault("ListLegalHolds")
    holds = list(holds_for(self.backup_backend).holds.values())
    page, token = paginate(holds, _query(self, "maxResults"), _query(self, "nextToken"))
    return _dumps({"LegalHolds": [h.summary() for h in page], "NextToken": token})


def http_cancel_legal_hold(self: Any) -> Response:
    hold_id = _hold_id(self)
    models.check_fault("CancelLegalHold", hold_id)
    cancel_legal_hold(
        self.backup_backend, hold_id, _query(self, "cancelDescription"), _query(self, "retainRecordInDays")
    )
    return "", {**JSON_HEADERS, "status": "201"}


def http_list_recovery_points_by_legal_hold(self: Any) -> Response:
    hold_id = _hold_id(self)
    models.check_fault("ListRecoveryPointsByLegalHold", hold_id)
    hold = holds_for(self.backup_backend).holds.get(hold_id)
    if hold is None:  # the model lists no ResourceNotFoundException for this operation
        raise InvalidParameterValueException(f"Legal hold {hold_id} not found")
    page, token = paginate(hold.points, _query(self, "maxResults"), _query(self, "nextToken"))
    return _dumps({"RecoveryPoints": [dict(p) for p in page], "NextToken": token})


def _refuse_held(original: Any) -> Any:
    """DeleteRecoveryPoint: refused while an uncancelled hold includes the point."""

    def delete_recovery_point(backend: Any, vault_name: str, arn: str) -> None:
        models.find_point(backend, vault_name, arn)  # a missing vault or point: as before
        if holding(backend, arn):
            raise InvalidRequestException(HELD_MESSAGE)
        original(backend, vault_name, arn)

    delete_recovery_point._coldvault_legal_holds = True  # type: ignore[attr-defined]
    return delete_recovery_point


# The operations added to moto's BackupResponse (registered with the routes by backup_responses).
HANDLERS = {
    "create_legal_hold": http_create_legal_hold,
    "get_legal_hold": http_get_legal_hold,
    "list_legal_holds": http_list_legal_holds,
    "cancel_legal_hold": http_cancel_legal_hold,
    "list_recovery_points_by_legal_hold": http_list_recovery_points_by_legal_hold,
}


def install() -> None:
    """Refuse DeleteRecoveryPoint for a held point (idempotent)."""
    if not getattr(models.delete_recovery_point, "_coldvault_legal_holds", False):
        models.delete_recovery_point = _refuse_held(models.delete_recovery_point)

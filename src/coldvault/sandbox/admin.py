"""The sandbox's admin API: what tests and the demo need that AWS has no API for.

Served by the sandbox server under ``/_coldvault/`` (never on an AWS service's surface). Every
endpoint is a plain function here, callable in-process; :func:`handle` maps HTTP requests onto
them and :class:`SandboxAdmin` is the HTTP client (urllib only). See docs/sandbox.md.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from coldvault.sandbox import recovery_points as rp
from coldvault.sandbox.state import STATE, Fault

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class AdminError(Exception):
    """The admin API refused a request (bad input or unknown resource)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- in-process functions -------------------------------------------------------------------


def get_settings() -> dict[str, Any]:
    return STATE.settings.to_dict()


def update_settings(values: dict[str, Any]) -> dict[str, Any]:
    try:
        STATE.settings.update(values)
    except (ValueError, TypeError) as exc:
        raise AdminError(str(exc)) from exc
    return STATE.settings.to_dict()


def clock() -> dict[str, Any]:
    return {"now": STATE.clock.now().isoformat(), "offset_seconds": STATE.clock.offset.total_seconds()}


def advance_clock(seconds: float) -> dict[str, Any]:
    try:
        STATE.clock.advance(float(seconds))
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    return clock()


def add_fault(**fields: Any) -> dict[str, Any]:
    try:
        fault = STATE.faults.add(Fault(**fields))
    except TypeError as exc:
        raise AdminError(f"bad fault: {exc}") from exc
    return {k: getattr(fault, k) for k in fault.__dataclass_fields__}


def list_faults() -> list[dict[str, Any]]:
    return STATE.faults.list()


def clear_faults() -> dict[str, Any]:
    STATE.faults.clear()
    return {"cleared": True}


def reset() -> dict[str, Any]:
    """Reset every moto backend and the sandbox state (as ``POST /moto-api/reset``)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    return {"reset": True}


def state_summary(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> dict[str, Any]:
    return {**rp.summary(account, region), "clock": clock(), "faults": list_faults()}


def create_recovery_point(**params: Any) -> dict[str, Any]:
    return _call(rp.create_recovery_point, params)


def backdate_recovery_point(**params: Any) -> dict[str, Any]:
    return _call(rp.backdate, params)


def set_recovery_point_status(**params: Any) -> dict[str, Any]:
    return _call(rp.set_status, params)


def set_recovery_point_lifecycle(**params: Any) -> dict[str, Any]:
    return _call(rp.set_lifecycle, params)


def seed(**params: Any) -> dict[str, Any]:
    from coldvault.sandbox.seed import seed_fleet

    return _call(seed_fleet, params)


def _call(func: Callable[..., dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    try:
        return func(**params)
    except rp.SandboxResourceError as exc:
        raise AdminError(str(exc), exc.status) from exc
    except (TypeError, ValueError) as exc:
        raise AdminError(f"bad request: {exc}") from exc


# --- HTTP mapping ------------------------------------------------------------------------------

ROUTES: dict[tuple[str, str], Callable[..., Any]] = {
    ("GET", "settings"): get_settings,
    ("POST", "settings"): lambda **body: update_settings(body),
    ("GET", "clock"): clock,
    ("POST", "clock/advance"): advance_clock,
    ("GET", "faults"): list_faults,
    ("POST", "faults"): add_fault,
    ("DELETE", "faults"): clear_faults,
    ("POST", "reset"): reset,
    ("GET", "state"): state_summary,
    ("POST", "recovery-points"): create_recovery_point,
    ("POST", "recovery-points/backdate"): backdate_recovery_point,
    ("POST", "recovery-points/status"): set_recovery_point_status,
    ("POST", "recovery-points/lifecycle"): set_recovery_point_lifecycle,
    ("POST", "seed"): seed,
}


def handle(method: str, path: str, raw_body: bytes) -> tuple[int, Any]:
    """(HTTP status, JSON payload) for an admin request; ``path`` is relative to ``/_coldvault/``."""
    route = ROUTES.get((method.upper(), path.strip("/")))
    if route is None:
        known = sorted({p for _, p in ROUTES})
        return 404, {"error": f"no admin endpoint {method} /_coldvault/{path}; known: {', '.join(known)}"}
    try:
        body = json.loads(raw_body or b"{}")
        if not isinstance(body, dict):
            raise AdminError("the request body must be a JSON object")
        return 200, route(**body)
    except json.JSONDecodeError as exc:
        return 400, {"error": f"the request body is not JSON: {exc}"}
    except AdminError as exc:
        return exc.status, {"error": str(exc)}
    except TypeError as exc:
        return 400, {"error": f"bad request: {exc}"}


# --- client ------------------------------------------------------------------------------------


class SandboxAdmin:
    """HTTP client of the admin API of a sandbox at ``endpoint_url`` (urllib only)."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        self.base = endpoint_url.rstrip("/") + "/_coldvault/"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}, default=_json_default).encode() if method != "GET" else None
        request = urllib.request.Request(  # noqa: S310 - the sandbox's own http endpoint
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
            raise AdminError(str(detail), exc.code) from exc

    def settings(self) -> dict[str, Any]:
        return self._request("GET", "settings")  # type: ignore[no-any-return]

    def update_settings(self, **values: Any) -> dict[str, Any]:
        return self._request("POST", "settings", values)  # type: ignore[no-any-return]

    def clock(self) -> dict[str, Any]:
        return self._request("GET", "clock")  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._request("POST", "clock/advance", {"seconds": seconds})  # type: ignore[no-any-return]

    def add_fault(self, operation: str, kind: str, **fields: Any) -> dict[str, Any]:
        return self._request("POST", "faults", {"operation": operation, "kind": kind, **fields})  # type: ignore[no-any-return]

    def faults(self) -> list[dict[str, Any]]:
        return self._request("GET", "faults")  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._request("DELETE", "faults")

    def reset(self) -> None:
        self._request("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self._request("GET", "state")  # type: ignore[no-any-return]

    def create_recovery_point(self, **params: Any) -> dict[str, Any]:
        return self._request("POST", "recovery-points", params)  # type: ignore[no-any-return]

    def backdate_recovery_point(self, **params: Any) -> dict[str, Any]:
        return self._request("POST", "recovery-points/backdate", params)  # type: ignore[no-any-return]

    def set_recovery_point_status(self, **params: Any) -> dict[str, Any]:
        return self._request("POST", "recovery-points/status", params)  # type: ignore[no-any-return]

    def set_recovery_point_lifecycle(self, **params: Any) -> dict[str, Any]:
        return self._request("POST", "recovery-points/lifecycle", params)  # type: ignore[no-any-return]

    def seed(self, **params: Any) -> dict[str, Any]:
        return self._request("POST", "seed", params)  # type: ignore[no-any-return]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot send {type(value).__name__} to the admin API")

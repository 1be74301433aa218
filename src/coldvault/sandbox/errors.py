"""AWS Backup errors the sandbox answers with, as AWS sends them.

The modelled ones (``ResourceNotFoundException``, ``InvalidParameterValueException``,
``InvalidRequestException``, ``MissingParameterValueException``) are the classes moto's Backup
backend already defines; AWS's common errors (``AccessDeniedException``, ``ThrottlingException``)
are not in the Backup model but are what every AWS JSON service answers for those cases.
"""

from __future__ import annotations

from moto.backup.exceptions import (
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.core.exceptions import JsonRESTError

__all__ = [
    "AccessDeniedException",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "InvalidResourceStateException",
    "MissingParameterValueException",
    "ResourceNotFoundException",
    "ThrottlingException",
    "fault_error",
]


class MissingParameterValueException(JsonRESTError):  # type: ignore[misc]
    def __init__(self, msg: str) -> None:
        super().__init__("MissingParameterValueException", msg)


class InvalidResourceStateException(JsonRESTError):  # type: ignore[misc]
    def __init__(self, msg: str) -> None:
        super().__init__("InvalidResourceStateException", msg)


class AccessDeniedException(JsonRESTError):  # type: ignore[misc]
    code = 403

    def __init__(self, msg: str) -> None:
        super().__init__("AccessDeniedException", msg)


class ThrottlingException(JsonRESTError):  # type: ignore[misc]
    def __init__(self, msg: str = "Rate exceeded") -> None:
        super().__init__("ThrottlingException", msg)


class _CustomError(JsonRESTError):  # type: ignore[misc]
    def __init__(self, code: str, msg: str, status: int) -> None:
        super().__init__(code, msg)
        self.code = status


def fault_error(
    kind: str, operation: str, *, code: str = "", reason: str = "", status: int = 400
) -> Exception:
    """The exception an injected fault of ``kind`` raises for ``operation``."""
    if kind == "throttle":
        return ThrottlingException("Rate exceeded")
    if kind == "access_denied":
        return AccessDeniedException(
            reason or f"User is not authorized to perform: backup:{operation} (injected by the sandbox)"
        )
    return _CustomError(code or "ServiceUnavailableException", reason or "injected by the sandbox", status)

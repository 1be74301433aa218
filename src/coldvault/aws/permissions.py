"""IAM actions as data: every adapter method names the actions its AWS calls need.

``@permissions("s3:GetObject")`` on a method records the actions on the function itself (as
cloud-custodian's resources declare ``permissions``): the API actions the method calls and the
dependent actions AWS documents for them (EC2's store and restore tasks read and write snapshots
through the EBS direct APIs as the caller, for example). A method that calls AWS without needing a
grant (``sts:GetCallerIdentity``) or makes no call declares ``@permissions()``.

:mod:`coldvault.cloud.wiring` reads these declarations to check that each Lambda role grants exactly
what its functions call; nothing here changes how a method runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])
ATTRIBUTE = "iam_actions"


def permissions(*actions: str) -> Callable[[_F], _F]:
    """Declare the IAM actions the decorated adapter method needs (``service:Action`` each)."""
    for action in actions:
        service, _, name = action.partition(":")
        if not service or not name or "*" in action:
            raise ValueError(f"not one IAM action: {action!r}")

    def declare(func: _F) -> _F:
        setattr(func, ATTRIBUTE, frozenset(actions))
        return func

    return declare


def declared(func: object) -> frozenset[str] | None:
    """The actions ``func`` declares, or None when it declares nothing."""
    value = getattr(func, ATTRIBUTE, None)
    return value if isinstance(value, frozenset) else None


def adapter_methods(cls: type) -> dict[str, frozenset[str] | None]:
    """Each public method of an adapter class (``__init__`` excluded) and what it declares."""
    return {
        name: declared(member)
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }

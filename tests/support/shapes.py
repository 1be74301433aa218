"""Validate a parsed AWS response against botocore's output shape for the operation.

Used by the fidelity tests: every response of an operation the sandbox adds must have no unknown
members, the right types, and every required member.
"""

from __future__ import annotations

import datetime
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

_session = botocore.session.get_session()

_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (float, int),
    "float": (float, int),
    "timestamp": (datetime.datetime,),
    "blob": (bytes, bytearray),
}


def shape_errors(service: str, operation: str, response: dict[str, Any]) -> list[str]:
    """Every way ``response`` (as boto3 returned it) departs from the operation's output shape."""
    model = _session.get_service_model(service).operation_model(operation)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if model.output_shape is None:
        return [f"unexpected members {sorted(body)}"] if body else []
    errors: list[str] = []
    _check(model.output_shape, body, operation, errors)
    return errors


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected structure, got {type(value).__name__}")
            return
        for name in value:
            if name not in shape.members:
                errors.append(f"{path}.{name}: not in the model")
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}.{name}: required member missing")
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], f"{path}.{name}", errors)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            errors.append(f"{path}: expected list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", errors)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected map, got {type(value).__name__}")
            return
        for k, v in value.items():
            _check(shape.key, k, f"{path}<key>", errors)
            _check(shape.value, v, f"{path}[{k}]", errors)
    else:
        expected = _SCALARS.get(shape.type_name)
        if expected is None:
            return
        if shape.type_name in ("integer", "long") and isinstance(value, bool):
            errors.append(f"{path}: expected {shape.type_name}, got bool")
        elif not isinstance(value, expected):
            errors.append(f"{path}: expected {shape.type_name}, got {type(value).__name__}")
        elif (allowed := getattr(shape, "enum", None)) and value not in allowed:
            errors.append(f"{path}: {value!r} not one of {allowed}")

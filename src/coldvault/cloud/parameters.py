"""The template's parameters, read from ``template.yaml`` itself, and ``Key=Value`` overrides checked
against them before anything is deployed (CloudFormation would refuse a bad value only after the
package is uploaded; the sandbox's CloudFormation does not check them at all).

Only the ``Parameters:`` section is read, with the small YAML subset it is written in: one
``Name:`` per parameter and scalar or ``[a, b]`` properties under it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from coldvault.errors import UsageError

SET_BY_DEPLOY = frozenset({"ArtifactBucket", "ArtifactKey"})
_NAME = re.compile(r"^  ([A-Za-z0-9]+):\s*$")
_PROP = re.compile(r"^    ([A-Za-z]+):\s*(.*)$")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "String"
    default: str | None = None
    allowed_values: tuple[str, ...] = ()
    allowed_pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    min_length: int | None = None
    constraint: str = ""

    def problem(self, value: str) -> str:
        """Why ``value`` is refused, or ``""``."""
        if self.allowed_values and value not in self.allowed_values:
            return f"must be one of {', '.join(self.allowed_values)}"
        if self.allowed_pattern is not None and not re.fullmatch(self.allowed_pattern, value):
            return f"must be {self.constraint or 'of the pattern ' + self.allowed_pattern}"
        if self.min_length is not None and len(value) < self.min_length:
            return f"must be at least {self.min_length} characters"
        if self.type == "Number":
            try:
                number = float(value)
            except ValueError:
                return "must be a number"
            if self.min_value is not None and number < self.min_value:
                return f"must be at least {self.min_value:g}"
            if self.max_value is not None and number > self.max_value:
                return f"must be at most {self.max_value:g}"
        return ""


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return inner.replace("\\\\", "\\") if text[0] == '"' else inner
    return text


def _list(text: str) -> tuple[str, ...]:
    inner = text.strip()[1:-1]
    return tuple(_scalar(v) for v in inner.split(",") if v.strip())


@dataclass
class _Builder:
    name: str
    props: dict[str, str] = field(default_factory=dict)

    def build(self) -> Parameter:
        p = self.props
        return Parameter(
            name=self.name,
            type=_scalar(p.get("Type", "String")),
            default=_scalar(p["Default"]) if "Default" in p else None,
            allowed_values=_list(p["AllowedValues"]) if "AllowedValues" in p else (),
            allowed_pattern=_scalar(p["AllowedPattern"]) if "AllowedPattern" in p else None,
            min_value=float(p["MinValue"]) if "MinValue" in p else None,
            max_value=float(p["MaxValue"]) if "MaxValue" in p else None,
            min_length=int(p["MinLength"]) if "MinLength" in p else None,
            constraint=_scalar(p.get("ConstraintDescription", "")),
        )


def template_parameters(template_text: str) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    current: _Builder | None = None
    inside = False
    for line in template_text.splitlines():
        if not line.startswith(" "):
            if current is not None:
                found[current.name] = current.build()
                current = None
            inside = line.rstrip() == "Parameters:"
            continue
        if not inside:
            continue
        if m := _NAME.match(line):
            if current is not None:
                found[current.name] = current.build()
            current = _Builder(m.group(1))
        elif (m := _PROP.match(line)) and current is not None:
            current.props[m.group(1)] = m.group(2)
    if current is not None:
        found[current.name] = current.build()
    return found


_CFN_ITEM = re.compile(r"^ParameterKey=([^,]*),ParameterValue=(.*)$", re.DOTALL)
OVERRIDES_HINT = (
    "use Key=Value, ParameterKey=Key,ParameterValue=Value or file://params.json, for example "
    "--parameter-overrides ArchivalBucketName=my-archive BackupVaultName=Vault"
)


def _from_file(item: str) -> dict[str, str]:
    """``file://params.json``: CloudFormation's list (``[{"ParameterKey": …, "ParameterValue": …}]``)
    or a plain ``{"Key": "Value"}`` object."""
    path = Path(item.removeprefix("file://")).expanduser()
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", hint="check the file:// path") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}", hint=OVERRIDES_HINT) from None
    if isinstance(data, dict) and all(isinstance(v, str | int | float | bool) for v in data.values()):
        return {str(k): _text(v) for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(e, dict) and "ParameterKey" in e for e in data):
        return {
            str(e["ParameterKey"]): _text(e.get("ParameterValue", ""))
            for e in data
            if not e.get("UsePreviousValue")
        }
    raise UsageError(
        f"{path} holds neither a list of ParameterKey/ParameterValue objects nor a Key: Value object",
        hint=OVERRIDES_HINT,
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _items(item: str) -> list[str]:
    """One argument may hold several space-separated items, as SAM accepts (``'A=1 B=2'``): split
    only when every shell word is an assignment, so ``ScheduleWindow=cron(0 3 ? * SUN *)`` stays one."""
    if not any(c.isspace() for c in item):
        return [item]
    try:
        words = shlex.split(item)
    except ValueError:
        return [item]
    return words if len(words) > 1 and all("=" in w for w in words) else [item]


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``--parameter-overrides`` items, as the AWS CLI and SAM take them: ``Key=Value``,
    ``ParameterKey=Key,ParameterValue=Value`` and ``file://params.json``; later items win. A
    malformed item is a usage error."""
    values: dict[str, str] = {}
    for argument in items:
        for item in _items(argument):
            if item.startswith("file://"):
                values.update(_from_file(item))
                continue
            if m := _CFN_ITEM.match(item):
                key, value = m.group(1), m.group(2)
            else:
                key, sep, value = item.partition("=")
                if not sep:
                    key = ""
            if not key.strip():
                raise UsageError(f"--parameter-overrides item {item!r} is not Key=Value", hint=OVERRIDES_HINT)
            values[key.strip()] = value
    return values


def check_overrides(
    params: dict[str, Parameter], overrides: dict[str, str], previous: dict[str, str] | None = None
) -> dict[str, str]:
    """Every override known and valid, and every parameter without a default given (or previous)."""
    settable = sorted(n for n in params if n not in SET_BY_DEPLOY)
    for name, value in overrides.items():
        if name in SET_BY_DEPLOY:
            raise UsageError(f"parameter {name} is set by coldvault deploy", hint="leave it out")
        if name not in params:
            raise UsageError(f"unknown parameter {name!r}", hint=f"the template takes {', '.join(settable)}")
        problem = params[name].problem(value)
        if problem:
            raise UsageError(
                f"parameter {name}={value!r} {problem}", hint=f"fix {name} in --parameter-overrides"
            )
    merged = {**(previous or {}), **overrides}
    missing = [n for n in settable if params[n].default is None and n not in merged]
    if missing:
        raise UsageError(
            f"parameter {', '.join(missing)} has no default and was not given",
            hint=f"pass --parameter-overrides {missing[0]}=VALUE",
        )
    return {k: v for k, v in merged.items() if k in params and k not in SET_BY_DEPLOY}

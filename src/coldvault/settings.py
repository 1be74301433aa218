"""The one settings resolver both engines call: flag → SSM key → default, each value checked by its row.

``coldvault archive``/``plan`` pass their flags and, with ``--config PATH``, the parameters under that
SSM path; the Lambda handlers pass the parameters under their stack's path and no flags. For every
:class:`~coldvault.config.Settings` field the rows of :mod:`coldvault.settings_table` that set it are
tried in order: a flag given wins, then the SSM key, then the row's default. A value a row refuses is
a :class:`~coldvault.errors.ConfigurationError` naming where it came from and how to fix it (the CLI
prints it on one line and exits 2 before any change; the state machine's run fails and is notified).

Two differences between the engines, both deliberate: the CLI never archives by a default age (it needs
``--older-than``, ``--created-before`` or an SSM ``older-than-days``), while the schedule uses the age
row's default, the template's; and a missing required value names the flag to the CLI user and the
SSM parameter to the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from coldvault.config import Settings
from coldvault.errors import ConfigurationError
from coldvault.settings_table import Invalid, Row, settings_rows

Raw = str | bool | int | float | None  # a flag's value as the CLI parsed it


def resolve(
    flags: Mapping[str, Raw],
    ssm: Mapping[str, str],
    *,
    path: str | None,
    now: datetime,
    run_id: str,
    account_id: str = "",
    cli: bool = True,
) -> Settings:
    """The run's settings. ``flags`` maps flags (``"--vault"``) to values (None: not given); ``ssm``
    maps keys under ``path`` to values; ``cli`` False is the cloud engine (no flags, defaults for all)."""
    values: dict[str, Any] = {}
    fields: dict[str, list[Row]] = {}
    for row in settings_rows():
        fields.setdefault(str(row.field), []).append(row)
    for field, rows in fields.items():
        found = _one(rows, flags, ssm, path, now, cli)
        if found is not _UNSET:
            values[field] = found
    return Settings(run_id=run_id, account_id=account_id, **values)


_UNSET: Any = object()


def _one(
    rows: list[Row],
    flags: Mapping[str, Raw],
    ssm: Mapping[str, str],
    path: str | None,
    now: datetime,
    cli: bool,
) -> Any:
    given = [r for r in rows if r.flag and flags.get(r.flag) is not None]
    if len(given) > 1:
        raise _choose_one(rows)
    if given:
        (row,) = given
        return _parse(row, _text(flags[str(row.flag)]), now, str(row.flag), _flag_hint(row))
    for row in rows:
        if row.ssm and row.ssm in ssm:
            name = f"SSM parameter {path or ''}/{row.ssm}"
            return _parse(row, ssm[row.ssm], now, name, _ssm_hint(row, path))
    for row in rows:
        if row.default is not None and (row.cli_default or not cli):
            return _parse(row, row.default, now, f"the default of {row.flag or row.ssm}", "")
    if any(r.required or not r.cli_default for r in rows):
        if not cli:
            key = next(r.ssm for r in rows if r.ssm)
            raise ConfigurationError(
                f"SSM parameter {path or ''}/{key} is missing",
                hint="redeploy the stack (coldvault deploy) or put the parameter back",
            )
        if len([r for r in rows if r.flag]) > 1:
            raise _choose_one(rows)
        row = rows[0]
        raise ConfigurationError(
            f"no {row.name[4:] if row.name.startswith('the ') else row.name} given",
            hint=f"pass {row.flag} {row.metavar} or --config /ssm/path",
        )
    return _UNSET


def _choose_one(rows: list[Row]) -> ConfigurationError:
    flags = [f"{r.flag} {r.metavar}" for r in rows if r.flag]
    first = rows[0]
    return ConfigurationError(
        f"give exactly one of {' or '.join(flags)}",
        hint=f"for example {first.flag} {first.sample}, or --config PATH with an SSM {first.ssm}",
    )


def _text(value: Raw) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(row: Row, text: str, now: datetime, source: str, hint: str) -> Any:
    try:
        return row.parse(text, now)
    except Invalid as exc:
        raise ConfigurationError(f"{source} {exc}, not {text!r}", hint=hint or None) from None


def _flag_hint(row: Row) -> str:
    return (
        f"for example {row.flag} {row.sample}" if row.sample and not row.boolean else f"see {row.flag} --help"
    )


def _ssm_hint(row: Row, path: str | None) -> str:
    fix = f"aws ssm put-parameter --overwrite --name {path or ''}/{row.ssm} --value {row.sample or 'VALUE'}"
    if row.parameter:
        return f"redeploy with {row.parameter}={row.sample or 'VALUE'} or {fix}"
    return fix

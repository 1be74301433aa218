"""A command's JSON document as ``--output json|yaml|text|csv|table``, the way the AWS CLI prints it.

Every command builds one JSON-ready document (its data); ``--query`` (JMESPath) picks from it, and
these functions turn the result into text. None of them shortens a value: ids are printed whole.

- ``json``: indented JSON, keys in the document's order.
- ``yaml``: block-style YAML (PyYAML ``safe_dump``), keys in the document's order.
- ``text``: the AWS CLI's text format (``awscli/text.py``): a dict's scalar values on one
  tab-separated line (keys sorted), a list of dicts as one line per element with the union of their
  scalar keys as columns, nested lists and dicts below under their key in upper case.
- ``csv``: a list of records (dicts) with a header row, or a list of scalars one per line. Other
  shapes are refused with a hint to pick a list with ``--query``.
- ``table`` (generic): used when a command has no table view of its own or ``--query`` is given: a
  list of records as columns, a dict as key/value rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import yaml
from rich.table import Table

from coldvault.errors import UsageError


def to_json(data: Any) -> str:
    return json.dumps(data, indent=4, default=str) + "\n"


def to_yaml(data: Any) -> str:
    return str(
        yaml.safe_dump(
            _plain(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=10**6
        )
    )


def _plain(data: Any) -> Any:
    """Only the types ``yaml.safe_dump`` knows (a datetime or enum that JSON would stringify)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if data is None or isinstance(data, bool | int | float | str):
        return data
    return str(data)


def _scalar(value: Any) -> str:
    """A scalar as the AWS CLI's text output writes it (``None``, ``True``: Python's spelling)."""
    return str(value)


def to_text(data: Any) -> str:
    out = io.StringIO()
    _text(data, out.write, None, None)
    return out.getvalue()


def _text(item: Any, write: Callable[[str], Any], identifier: str | None, keys: list[str] | None) -> None:
    if isinstance(item, dict):
        _text_dict(item, write, identifier, keys)
    elif isinstance(item, list):
        _text_list(item, write, identifier)
    else:
        write(_scalar(item) + "\n")


def _text_list(items: list[Any], write: Callable[[str], Any], identifier: str | None) -> None:
    if not items:
        return
    if any(isinstance(e, dict) for e in items):
        keys = sorted({k for e in items if isinstance(e, dict) for k, v in e.items() if not _nested(v)})
        for element in items:
            _text(element, write, identifier, keys)
    elif any(isinstance(e, list) for e in items):
        scalars = [e for e in items if not _nested(e)]
        if scalars:
            _text_scalars(scalars, write, identifier)
        for element in items:
            if _nested(element):
                _text(element, write, identifier, None)
    else:
        _text_scalars(items, write, identifier)


def _text_scalars(items: list[Any], write: Callable[[str], Any], identifier: str | None) -> None:
    if identifier is None:
        write("\t".join(_scalar(i) for i in items) + "\n")
    else:
        for i in items:
            write(f"{identifier.upper()}\t{_scalar(i)}\n")


def _text_dict(
    item: dict[str, Any], write: Callable[[str], Any], identifier: str | None, keys: list[str] | None
) -> None:
    if keys is None:
        scalars = [_scalar(v) for _, v in sorted(item.items()) if not _nested(v)]
        nested = [(k, v) for k, v in sorted(item.items()) if _nested(v)]
    else:
        scalars = [_scalar(item.get(k, "")) for k in keys]
        nested = [(k, item[k]) for k in sorted(set(item) - set(keys))]
    if scalars:
        if identifier is not None:
            scalars.insert(0, identifier.upper())
        write("\t".join(scalars) + "\n")
    for key, value in nested:
        _text(value, write, key, None)


def _nested(value: Any) -> bool:
    return isinstance(value, dict | list)


def to_csv(data: Any) -> str:
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        fields: dict[str, None] = {}
        for record in data:
            fields.update(dict.fromkeys(record))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        for record in data:
            writer.writerow({k: _csv_cell(v) for k, v in record.items()})
        return out.getvalue()
    if isinstance(data, list) and not any(_nested(v) for v in data):
        return "".join(f"{_csv_cell(v)}\n" for v in data)
    raise UsageError(
        "--output csv needs a list of records",
        hint="pick one with --query, e.g. --query candidates, or use --output json|yaml|text",
    )


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if _nested(value):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


def generic_table(data: Any, title: str | None = None) -> Table:
    """Any document as a table: records as columns, a dict as key/value rows, scalars one per row."""
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        columns: dict[str, None] = {}
        for record in data:
            columns.update(dict.fromkeys(record))
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for record in data:
            table.add_row(*(_cell(record.get(c)) for c in columns))
        return table
    if isinstance(data, dict):
        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold", overflow="fold")
        table.add_column("value", overflow="fold")
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        return table
    table = Table(title=title, show_header=False)
    table.add_column("value", overflow="fold")
    for value in data if isinstance(data, list) else [data]:
        table.add_row(_cell(value))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if _nested(value):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)

"""``coldvault.toml``: the answers of ``coldvault deploy --guided``, read by the next deploy (as SAM's
``samconfig.toml`` is). One section per stack; values given on the command line win.

```toml
version = 1
default_stack = "coldvault"

[stacks.coldvault]
artifact_bucket = "coldvault-artifacts-123456789012-us-east-1"

[stacks.coldvault.parameters]
ArchivalBucketName = "my-archive"
BackupVaultName = "prod-vault"
```

Read with ``tomllib``; written by :func:`save` (only strings and tables, so a few lines suffice:
strings are written as TOML basic strings, which JSON's escaping produces).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coldvault.errors import UsageError

DEFAULT_FILE = "coldvault.toml"
VERSION = 1


@dataclass(frozen=True)
class StackConfig:
    parameters: dict[str, str] = field(default_factory=dict)
    artifact_bucket: str | None = None


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}", hint=f"fix or remove {path}") from None


def default_stack(path: Path) -> str | None:
    value = _read(path).get("default_stack")
    return str(value) if value else None


def load(path: Path, stack: str) -> StackConfig:
    """The stack's section of the file (empty when the file or the section is missing)."""
    section = (_read(path).get("stacks") or {}).get(stack) or {}
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [stacks.{stack}] is not a table", hint=f"fix or remove {path}")
    parameters = section.get("parameters") or {}
    bucket = section.get("artifact_bucket")
    return StackConfig(
        parameters={str(k): str(v) for k, v in parameters.items()},
        artifact_bucket=str(bucket) if bucket else None,
    )


def _key(name: str) -> str:
    bare = name.replace("-", "").replace("_", "").isalnum() and name.isascii()
    return name if bare else json.dumps(name)


def save(path: Path, stack: str, config: StackConfig) -> None:
    """Write the stack's section (other stacks' sections kept); this stack becomes the default."""
    data = _read(path)
    stacks = {str(k): v for k, v in (data.get("stacks") or {}).items() if isinstance(v, dict)}
    stacks[stack] = {"artifact_bucket": config.artifact_bucket, "parameters": config.parameters}
    lines = [
        "# coldvault deploy settings, one section per stack (written by coldvault deploy --guided).",
        f"version = {VERSION}",
        f"default_stack = {json.dumps(stack)}",
    ]
    for name, section in sorted(stacks.items()):
        lines += ["", f"[stacks.{_key(name)}]"]
        if section.get("artifact_bucket"):
            lines.append(f"artifact_bucket = {json.dumps(str(section['artifact_bucket']))}")
        lines += ["", f"[stacks.{_key(name)}.parameters]"]
        for key, value in sorted((section.get("parameters") or {}).items()):
            lines.append(f"{_key(str(key))} = {json.dumps(str(value), ensure_ascii=False)}")
    path.write_text("\n".join(lines) + "\n")

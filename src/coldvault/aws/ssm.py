"""SSM Parameter Store: coldvault's settings under a path (IAM: ``ssm:GetParametersByPath``)."""

from __future__ import annotations

from typing import Any

from coldvault.aws.errors import aws_call


class Ssm:
    def __init__(self, client: Any) -> None:
        self.client = client

    def parameters(self, path: str) -> dict[str, str]:
        """Every parameter directly under ``path``, keyed by its name relative to the path."""
        prefix = path.rstrip("/") + "/"
        found: dict[str, str] = {}
        paginator = self.client.get_paginator("get_parameters_by_path")
        with aws_call("GetParametersByPath"):
            for page in paginator.paginate(
                Path=prefix.rstrip("/") or "/", Recursive=False, WithDecryption=True
            ):
                for p in page.get("Parameters", []):
                    found[str(p["Name"])[len(prefix) :]] = str(p["Value"])
        return found

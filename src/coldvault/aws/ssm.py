"""SSM Parameter Store: coldvault's settings under a path (IAM actions declared per method)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class Ssm:
    """Thin adapter over a boto3 ``ssm`` client."""

    def __init__(self, client: SSMClient) -> None:
        self.client = client

    @permissions("ssm:GetParametersByPath")
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

"""STS: who is calling (IAM: none needed for ``sts:GetCallerIdentity``)."""

from __future__ import annotations

from typing import Any

from coldvault.aws.errors import aws_call


class Sts:
    def __init__(self, client: Any) -> None:
        self.client = client

    def account_id(self) -> str:
        with aws_call("GetCallerIdentity"):
            return str(self.client.get_caller_identity()["Account"])

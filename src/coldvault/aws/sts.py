"""STS: who is calling (``GetCallerIdentity`` needs no IAM permission)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


class Sts:
    """Thin adapter over a boto3 ``sts`` client."""

    def __init__(self, client: STSClient) -> None:
        self.client = client

    @permissions()
    def account_id(self) -> str:
        with aws_call("GetCallerIdentity"):
            return str(self.client.get_caller_identity()["Account"])

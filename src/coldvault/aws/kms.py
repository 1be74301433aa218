"""KMS: the state of the keys that encrypt the AMIs' snapshots (IAM actions declared per method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions


@dataclass(frozen=True)
class KeyInfo:
    arn: str
    state: str  # Enabled | Disabled | PendingDeletion | PendingImport | Unavailable | ...
    manager: str  # AWS (aws/ebs) | CUSTOMER


class Kms:
    """Thin adapter over a boto3 ``kms`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @permissions("kms:DescribeKey")
    def describe_key(self, key_id: str) -> KeyInfo:
        """The key's state; raises NotFound / AccessDenied (the key policy does not let us see it)."""
        with aws_call("DescribeKey"):
            r = self.client.describe_key(KeyId=key_id)
        meta = r.get("KeyMetadata") or {}
        return KeyInfo(
            arn=str(meta.get("Arn", key_id)),
            state=str(meta.get("KeyState", "")),
            manager=str(meta.get("KeyManager", "")),
        )

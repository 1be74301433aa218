"""SQS: status messages (IAM actions declared per method)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class Sqs:
    """Thin adapter over a boto3 ``sqs`` client."""

    def __init__(self, client: SQSClient) -> None:
        self.client = client

    @permissions("sqs:GetQueueAttributes")
    def check_queue(self, queue_url: str) -> None:
        """Raises NotFound when the queue does not exist (GetQueueAttributes)."""
        with aws_call("GetQueueAttributes"):
            self.client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])

    @permissions("sqs:SendMessage")
    def send(self, queue_url: str, message: dict[str, Any], *, group_id: str | None = None) -> str:
        """Send one JSON status message; the message id."""
        kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": json.dumps(message, sort_keys=True)}
        if queue_url.endswith(".fifo"):
            kwargs["MessageGroupId"] = group_id or "coldvault"
            kwargs["MessageDeduplicationId"] = f"{message.get('run_id', '')}-{message.get('ami_id', '')}"
        with aws_call("SendMessage"):
            r = self.client.send_message(**kwargs)
        return str(r.get("MessageId", ""))

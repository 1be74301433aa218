"""CloudFormation: the coldvault stack (IAM actions declared per method)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.exceptions

from coldvault.aws.errors import aws_call, error_code, error_message, translate
from coldvault.aws.permissions import permissions

COMPLETE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
FAILED = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)
CAPABILITIES = ["CAPABILITY_IAM"]


@dataclass(frozen=True)
class Stack:
    name: str
    stack_id: str
    status: str
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")

    @property
    def complete(self) -> bool:
        return self.status in COMPLETE

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True)
class StackEvent:
    time: datetime
    resource: str
    status: str
    reason: str


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


class CloudFormation:
    """Thin adapter over a boto3 ``cloudformation`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @permissions("cloudformation:DescribeStacks")
    def describe(self, name: str) -> Stack | None:
        """The stack; None when there is no such stack."""
        try:
            stacks = self.client.describe_stacks(StackName=name)["Stacks"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
                return None
            raise translate(exc, "DescribeStacks") from exc
        if not stacks:
            return None
        s = stacks[0]
        return Stack(
            name=str(s["StackName"]),
            stack_id=str(s["StackId"]),
            status=str(s["StackStatus"]),
            reason=str(s.get("StackStatusReason", "")),
            outputs={str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in s.get("Outputs", [])},
            parameters={
                str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in s.get("Parameters", [])
            },
        )

    @permissions("cloudformation:CreateStack")
    def create(self, name: str, template_url: str, parameters: dict[str, str]) -> str:
        """Create the stack; its id."""
        with aws_call("CreateStack"):
            response = self.client.create_stack(
                StackName=name,
                TemplateURL=template_url,
                Parameters=_parameters(parameters),
                Capabilities=CAPABILITIES,
                Tags=[{"Key": "coldvault:stack", "Value": name}],
            )
        return str(response["StackId"])

    @permissions("cloudformation:UpdateStack")
    def update(self, name: str, template_url: str, parameters: dict[str, str]) -> bool:
        """Update the stack; False when there was nothing to update."""
        try:
            self.client.update_stack(
                StackName=name,
                TemplateURL=template_url,
                Parameters=_parameters(parameters),
                Capabilities=CAPABILITIES,
            )
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ValidationError" and "No updates are to be performed" in error_message(
                exc
            ):
                return False
            raise translate(exc, "UpdateStack") from exc
        return True

    @permissions("cloudformation:DescribeStackEvents")
    def events(self, name: str) -> list[StackEvent]:
        """The stack's events, newest first (the first page)."""
        with aws_call("DescribeStackEvents"):
            raw = self.client.describe_stack_events(StackName=name).get("StackEvents", [])
        return [
            StackEvent(
                time=e["Timestamp"],
                resource=str(e.get("LogicalResourceId", "")),
                status=str(e.get("ResourceStatus", "")),
                reason=str(e.get("ResourceStatusReason", "")),
            )
            for e in raw
        ]

    @permissions("cloudformation:DescribeStackEvents")
    def failure_reasons(self, name: str) -> list[str]:
        """Why the last operation failed: the failed resources' reasons (from its events)."""
        return [
            f"{e.resource}: {e.reason}"
            for e in self.events(name)
            if e.status.endswith("_FAILED") and e.reason
        ][:5]

"""CloudFormation: the coldvault stack, deployed through change sets (IAM actions declared per method)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import botocore.exceptions

from coldvault.aws.errors import aws_call, error_code, error_message, translate
from coldvault.aws.permissions import permissions

# CreateChangeSet of an unchanged stack: a FAILED change set with this reason (UpdateStack: an error).
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
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
    event_id: str = ""
    resource_type: str = ""


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = ""  # True | False | Conditional (Modify only)


@dataclass(frozen=True)
class ChangeSet:
    change_set_id: str
    stack_id: str
    status: str  # CREATE_PENDING | CREATE_IN_PROGRESS | CREATE_COMPLETE | FAILED | DELETE_*
    execution_status: str
    reason: str
    changes: tuple[ResourceChange, ...]
    parameters: dict[str, str]

    @property
    def settled(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE", "DELETE_FAILED")

    @property
    def no_changes(self) -> bool:
        return self.status == "FAILED" and any(text in self.reason for text in NO_CHANGES)


def _event(e: dict[str, Any]) -> StackEvent:
    return StackEvent(
        time=e["Timestamp"],
        resource=str(e.get("LogicalResourceId", "")),
        status=str(e.get("ResourceStatus", "")),
        reason=str(e.get("ResourceStatusReason", "") or ""),
        event_id=str(e.get("EventId", "")),
        resource_type=str(e.get("ResourceType", "")),
    )


def _parameters(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


class CloudFormation:
    """Thin adapter over a boto3 ``cloudformation`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @permissions("cloudformation:DescribeStacks")
    def describe(self, name: str) -> Stack | None:
        """``cloudformation:DescribeStacks``; None when there is no such stack."""
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

    @permissions("cloudformation:DescribeStackEvents")
    def events_since(self, name: str, last_seen: str | None) -> list[StackEvent]:
        """``cloudformation:DescribeStackEvents``: the events after ``last_seen`` (an event id; None:
        all), oldest first. The API answers newest first, a page at a time: pages are read until
        ``last_seen`` appears."""
        found: list[StackEvent] = []
        kwargs: dict[str, Any] = {"StackName": name}
        while True:
            with aws_call("DescribeStackEvents"):
                page = self.client.describe_stack_events(**kwargs)
            for raw in page.get("StackEvents", []):
                event = _event(raw)
                if last_seen is not None and event.event_id == last_seen:
                    return found[::-1]
                found.append(event)
            if not page.get("NextToken"):
                return found[::-1]
            kwargs["NextToken"] = page["NextToken"]

    @permissions("cloudformation:DescribeStackEvents")
    def latest_event_id(self, name: str) -> str | None:
        """``cloudformation:DescribeStackEvents``: the newest event's id (one page)."""
        with aws_call("DescribeStackEvents"):
            events = self.client.describe_stack_events(StackName=name).get("StackEvents", [])
        return str(events[0].get("EventId", "")) if events else None

    @permissions("cloudformation:DescribeStackEvents")
    def failure_reasons(self, name: str, events: list[StackEvent] | None = None) -> list[str]:
        """Why the last operation failed: ``Resource: reason`` for each failed resource (from
        ``events``, or the stack's events)."""
        seen = events if events is not None else self.events_since(name, None)
        return [f"{e.resource}: {e.reason}" for e in seen if e.status.endswith("_FAILED") and e.reason]

    @permissions("cloudformation:CreateChangeSet")
    def create_change_set(
        self, name: str, change_set_name: str, template_url: str, parameters: dict[str, str], *, create: bool
    ) -> str:
        """``cloudformation:CreateChangeSet`` (``CREATE`` for a new stack, else ``UPDATE``); its id."""
        kwargs: dict[str, Any] = {
            "StackName": name,
            "ChangeSetName": change_set_name,
            "TemplateURL": template_url,
            "Parameters": _parameters(parameters),
            "Capabilities": CAPABILITIES,
            "ChangeSetType": "CREATE" if create else "UPDATE",
            "Description": "coldvault deploy",
        }
        if create:
            kwargs["Tags"] = [{"Key": "coldvault:stack", "Value": name}]
        with aws_call("CreateChangeSet"):
            return str(self.client.create_change_set(**kwargs)["Id"])

    @permissions("cloudformation:DescribeChangeSet")
    def describe_change_set(self, change_set_id: str) -> ChangeSet:
        """``cloudformation:DescribeChangeSet``, every page of changes."""
        changes: list[ResourceChange] = []
        kwargs: dict[str, Any] = {"ChangeSetName": change_set_id}
        while True:
            with aws_call("DescribeChangeSet"):
                page = self.client.describe_change_set(**kwargs)
            for change in page.get("Changes", []):
                rc = change.get("ResourceChange") or {}
                changes.append(
                    ResourceChange(
                        action=str(rc.get("Action", "")),
                        logical_id=str(rc.get("LogicalResourceId", "")),
                        resource_type=str(rc.get("ResourceType", "")),
                        replacement=str(rc.get("Replacement", "") or ""),
                    )
                )
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return ChangeSet(
            change_set_id=str(page.get("ChangeSetId", change_set_id)),
            stack_id=str(page.get("StackId", "")),
            status=str(page.get("Status", "")),
            execution_status=str(page.get("ExecutionStatus", "")),
            reason=str(page.get("StatusReason", "") or ""),
            changes=tuple(changes),
            parameters={
                str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in page.get("Parameters", [])
            },
        )

    @permissions("cloudformation:ExecuteChangeSet")
    def execute_change_set(self, change_set_id: str) -> None:
        """``cloudformation:ExecuteChangeSet``."""
        with aws_call("ExecuteChangeSet"):
            self.client.execute_change_set(ChangeSetName=change_set_id)

    @permissions("cloudformation:DeleteChangeSet")
    def delete_change_set(self, change_set_id: str) -> None:
        """``cloudformation:DeleteChangeSet``."""
        with aws_call("DeleteChangeSet"):
            self.client.delete_change_set(ChangeSetName=change_set_id)

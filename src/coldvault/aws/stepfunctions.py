"""Step Functions: start and follow the archive state machine's executions (IAM actions per method)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    started: datetime | None
    stopped: datetime | None = None
    output: Any = None
    error: str = ""
    cause: str = ""

    @property
    def running(self) -> bool:
        return self.status == "RUNNING"


class StepFunctions:
    """Thin adapter over a boto3 ``stepfunctions`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @permissions("states:StartExecution")
    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start an execution; its ARN (idempotent for the same name and input)."""
        with aws_call("StartExecution"):
            response = self.client.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        return str(response["executionArn"])

    @permissions("states:DescribeExecution")
    def describe(self, execution_arn: str) -> Execution:
        """An execution's status, times, output and error."""
        with aws_call("DescribeExecution"):
            r = self.client.describe_execution(executionArn=execution_arn)
        output = r.get("output")
        return Execution(
            arn=execution_arn,
            status=str(r["status"]),
            started=r.get("startDate"),
            stopped=r.get("stopDate"),
            output=json.loads(output) if output else None,
            error=str(r.get("error", "")),
            cause=str(r.get("cause", "")),
        )

    @permissions("states:GetExecutionHistory")
    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event of the execution, oldest first."""
        events: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("get_execution_history")
        with aws_call("GetExecutionHistory"):
            for page in paginator.paginate(executionArn=execution_arn):
                events.extend(page.get("events", []))
        return events


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions billed for an execution: one per state entered (Standard workflows)."""
    return sum(1 for e in events if str(e.get("type", "")).endswith("StateEntered"))


def event_counts(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(e.get("type", "")) for e in events)

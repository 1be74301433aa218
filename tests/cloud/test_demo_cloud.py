"""``coldvault demo``'s cloud step: deploy into the sandbox, run, follow, show the report."""

from __future__ import annotations

import boto3
import pytest
from rich.console import Console

from coldvault.aws.session import AwsSession
from coldvault.cli.cloud_cmd import demo_cloud
from coldvault.demo import DemoContext
from coldvault.sandbox.admin import SandboxAdmin

pytestmark = [pytest.mark.cloud, pytest.mark.integration, pytest.mark.slow]


def test_the_demo_step_deploys_runs_and_shows_the_report(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    console = Console(record=True, width=120)
    ctx = DemoContext(
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        env=aws_env,
        console=console,
        aws=AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"]),
        instances=2,
    )
    demo_cloud(ctx)
    outcome = ctx.data["cloud_outcome"]
    assert outcome.status == "SUCCEEDED"
    assert outcome.counts == {"archived": 6, "skipped": 1}  # 3 instances x 2 monthly points; an EBS point
    # the same stack holds the restore state machine, its substitutions applied
    stack = boto3.client("cloudformation").describe_stacks(StackName="coldvault-demo")["Stacks"][0]
    restore_arn = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["RestoreStateMachineArn"]
    definition = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=restore_arn)[
        "definition"
    ]
    assert "${" not in definition
    assert ":function:" in definition
    text = console.export_text()
    assert "CREATE_COMPLETE" in text
    assert "archived" in text
    assert "report: s3://coldvault-demo-cloud-archive/logs/" in text

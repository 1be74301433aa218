"""The sandbox runs deployed things: a CloudFormation stack's state machine executes (with its
DefinitionSubstitutions), Lambda functions run their real code from their zip with their environment
and reach the sandbox, failures surface with the class name, and waits follow sandbox time."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

import boto3
import pytest

from coldvault.clock import Deadline, SystemClock
from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer

pytestmark = [pytest.mark.cloud, pytest.mark.integration]

HANDLER_SOURCE = """
import json, os, sys
import boto3

class BucketMissing(Exception):
    pass

def handler(event, context):
    s3 = boto3.client("s3")  # reaches the sandbox through AWS_ENDPOINT_URL
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    if event.get("need") and event["need"] not in names:
        raise BucketMissing("no bucket " + event["need"])
    return {
        "greeting": os.environ.get("GREETING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "buckets": names,
        "remaining": context.get_remaining_time_in_millis(),
        "path0": sys.path[0],
    }
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _wait_for(sfn: Any, arn: str, seconds: float = 60) -> dict[str, Any]:
    deadline = Deadline(SystemClock(), seconds)
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or deadline.expired():
            return described
        SystemClock().sleep(0.1)


def test_a_function_runs_its_own_zip_with_its_environment(
    aws_env: dict[str, str], sandbox: SandboxServer
) -> None:
    """The zip's code runs (not an installed copy), in a clean interpreter, reaching the sandbox."""
    boto3.client("s3").create_bucket(Bucket="present")
    role = boto3.client("iam").create_role(
        RoleName="probe",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    lam = boto3.client("lambda")
    lam.create_function(
        FunctionName="probe",
        Runtime="python3.12",
        Role=role,
        Handler="probe_fn.handler",
        Code={"ZipFile": _zip({"probe_fn.py": HANDLER_SOURCE})},
        Timeout=30,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    response = lam.invoke(FunctionName="probe", Payload=json.dumps({"need": "present"}))
    assert "FunctionError" not in response
    body = json.loads(response["Payload"].read())
    assert body["greeting"] == "hello"
    assert body["endpoint"] == f"http://127.0.0.1:{sandbox.port}"
    assert body["buckets"] == ["present"]
    assert 0 < body["remaining"] <= 30_000
    assert "coldvault-lambda-" in body["path0"]  # extracted from the function's own zip

    failed = lam.invoke(FunctionName="probe", Payload=json.dumps({"need": "absent"}))
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "BucketMissing"
    assert error["errorMessage"] == "no bucket absent"


TEMPLATE = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "stack-machine",
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DefinitionString": json.dumps(
                    {
                        "StartAt": "Hello",
                        "States": {
                            "Hello": {"Type": "Pass", "Result": {"said": "${Greeting}"}, "Next": "Nap"},
                            "Nap": {"Type": "Wait", "Seconds": 600, "End": True},
                        },
                    }
                ),
                "DefinitionSubstitutions": {"Greeting": {"Ref": "Word"}},
            },
        },
    },
    "Parameters": {"Word": {"Type": "String", "Default": "bonjour"}},
    "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
}


def test_a_stack_state_machine_executes_and_its_waits_follow_sandbox_time(
    aws_env: dict[str, str], admin: SandboxAdmin
) -> None:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="engine", TemplateBody=json.dumps(TEMPLATE))
    arn = cfn.describe_stacks(StackName="engine")["Stacks"][0]["Outputs"][0]["OutputValue"]
    sfn = boto3.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["Hello"]["Result"] == {"said": "bonjour"}

    before = datetime.fromisoformat(admin.clock()["now"])
    started = SystemClock().monotonic()
    execution = sfn.start_execution(stateMachineArn=arn, name="first", input="{}")["executionArn"]
    described = _wait_for(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"said": "bonjour"}
    assert SystemClock().monotonic() - started < 60  # 600 s of Wait at the sandbox's wait scale
    after = datetime.fromisoformat(admin.clock()["now"])
    assert (after - before).total_seconds() >= 600  # ...while sandbox time moved on by the whole wait

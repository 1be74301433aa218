"""The restore state machine: statelint-clean as deployed, wired to real handlers and declared
resources, and executed in the sandbox's Step Functions engine with the real handler code."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import cfn_yaml

from coldvault import errors
from coldvault.clock import Deadline, SystemClock
from coldvault.cloud import packaging, restore_handlers
from coldvault.cloud.runtime import cached_session, function_environment
from coldvault.pipeline import Services
from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    make_bucket,
    seeded_point,
    slow_glacier_restores,
)

pytestmark = pytest.mark.cloud
ASL_FILE = "restore.asl.json"
TEMPLATE = "template.yaml"


@pytest.fixture(scope="module")
def asl_text() -> str:
    return packaging.read_cloud_file(ASL_FILE)


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    """The template as shipped: the restore state machine's resources live in it beside the archive's."""
    return dict(cfn_yaml.loads(packaging.read_cloud_file(TEMPLATE)))


def _states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(asl["States"])


def test_statelint_accepts_the_asl_as_deployed(asl_text: str, tmp_path: Path) -> None:
    rendered = tmp_path / ASL_FILE
    rendered.write_text(packaging.rendered_asl(asl_text))
    statelint = Path(sys.executable).with_name("statelint")
    result = subprocess.run([str(statelint), str(rendered)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "${" not in rendered.read_text()


def test_error_names_are_step_functions_lambda_or_coldvault_errors(asl_text: str) -> None:
    ours = {name for name, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, Exception)}
    for name, state in _states(json.loads(asl_text)).items():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                assert error.startswith(("States.", "Lambda.")) or error in ours, (name, error)


def test_every_task_has_retry_and_catch_and_every_wait_is_computed(asl_text: str) -> None:
    for name, state in _states(json.loads(asl_text)).items():
        if state["Type"] == "Task":
            assert state["Retry"], name
            assert state["Catch"], name
        if state["Type"] == "Wait":
            assert state["SecondsPath"] == "$.wait_seconds", name


def test_substitutions_functions_and_handlers_agree(asl_text: str, resources: dict[str, Any]) -> None:
    machine = resources["Resources"]["RestoreStateMachine"]["Properties"]
    assert set(machine["DefinitionSubstitutions"]) == packaging.substitution_names(asl_text)
    for name, value in machine["DefinitionSubstitutions"].items():
        function = resources["Resources"][value["Fn::GetAtt"][0]]
        assert name == value["Fn::GetAtt"][0] + "Arn"
        module, _, attr = function["Properties"]["Handler"].rpartition(".")
        assert module == restore_handlers.__name__
        assert callable(getattr(restore_handlers, attr)), attr
    invoked = resources["Resources"]["RestoreStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = {r["Fn::GetAtt"][0] for r in invoked["Statement"][0]["Resource"]}
    assert granted == {v["Fn::GetAtt"][0] for v in machine["DefinitionSubstitutions"].values()}


def test_the_handlers_reuse_the_cached_session_and_build_the_shared_services() -> None:
    """Like the archive handlers: one session (and its clients) per function environment, kept
    across warm invocations; the services are the bundle the archive steps use."""
    env = {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "restore-session-test",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    with function_environment(env):
        first = restore_handlers._context().svc
        second = restore_handlers._context().svc
    assert isinstance(first, Services)
    assert first.s3.client is second.s3.client is cached_session(env).client("s3")
    assert first.ec2.client is second.ec2.client
    assert first.region == REGION


def test_the_packaged_template_inlines_the_restore_asl(asl_text: str) -> None:
    """The restore state machine is deployed from restore.asl.json exactly (cfn-lint, statelint and
    checkov run on the packaged template in ``make lint`` and tests/cloud/test_linters.py)."""
    template = dict(cfn_yaml.loads(packaging.packaged_template()))
    machine = template["Resources"]["RestoreStateMachine"]["Properties"]
    assert json.loads(machine["DefinitionString"]) == json.loads(asl_text)


# -- execution in the sandbox -------------------------------------------------------------------------


def _deploy(asl_text: str, resources: dict[str, Any]) -> str:
    iam, lam, sfn = boto3.client("iam"), boto3.client("lambda"), boto3.client("stepfunctions")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="restore-fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = packaging.build_zip()
    machine = resources["Resources"]["RestoreStateMachine"]["Properties"]
    arns: dict[str, str] = {}
    for name, value in machine["DefinitionSubstitutions"].items():
        logical = value["Fn::GetAtt"][0]
        props = resources["Resources"][logical]["Properties"]
        created = lam.create_function(
            FunctionName=logical,
            Runtime=props["Runtime"],
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": code},
            Timeout=props["Timeout"],
        )
        arns[name] = created["FunctionArn"]
    definition = packaging.rendered_asl(asl_text, arns)
    return str(
        sfn.create_state_machine(name="restore", definition=definition, roleArn=role)["stateMachineArn"]
    )


def _run(machine: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(request))["executionArn"]
    deadline = Deadline(SystemClock(), 120)
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or deadline.expired():
            described["history"] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            return described
        SystemClock().sleep(0.2)


def _entered(history: list[dict[str, Any]], state: str) -> int:
    return sum(1 for e in history if e.get("stateEnteredEventDetails", {}).get("name") == state)


@pytest.mark.integration
def test_the_state_machine_restores_a_glacier_archive_and_a_second_run_returns_it(
    aws_env: dict[str, str],
    admin: SandboxAdmin,
    sandbox: SandboxServer,
    asl_text: str,
    resources: dict[str, Any],
) -> None:
    admin.update_settings(wait_scale=0.0001)
    bucket = "archive-sfn"
    make_bucket(bucket)
    point = seeded_point(admin, tags={"Name": "batch-07", "team": "data"}, volumes=[("/dev/xvda", 30, False)])
    ami_id, key = archive_point(admin, bucket, "GLACIER", point["RecoveryPointArn"])
    machine = _deploy(asl_text, resources)

    slow_glacier_restores(admin)  # Bulk: 12 h of sandbox time, which the Wait states move on
    first = _run(machine, "first", {"ref": ami_id, "tier": "Bulk", "bucket": bucket})
    assert first["status"] == "SUCCEEDED", first.get("error") or first.get("cause")
    output = json.loads(first["output"])
    work = output["work"]
    assert work["stage"] == "done"
    assert work["thaw"] == "requested"
    assert _entered(first["history"], "WaitThaw") >= 2  # the Glacier restore stayed in progress a while
    image = boto3.client("ec2", region_name=REGION).describe_images(ImageIds=[work["image_id"]])["Images"][0]
    assert image["State"] == "available"
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert tags["Name"] == "batch-07"
    assert tags["coldvault:restored-from"] == key

    second = _run(machine, "second", {"ref": key, "bucket": bucket})
    assert second["status"] == "SUCCEEDED"
    again = json.loads(second["output"])["work"]
    assert again["image_id"] == work["image_id"]
    assert again["adopted"]
    assert _entered(second["history"], "Thaw") == 0

    rejected = _run(machine, "rejected", {"ref": ami_id, "bucket": bucket, "tier": "Sometime"})
    assert rejected["status"] == "FAILED"
    failed = next(e for e in rejected["history"] if e["type"] == "ExecutionFailed")[
        "executionFailedEventDetails"
    ]
    assert failed["error"] == "UsageError"

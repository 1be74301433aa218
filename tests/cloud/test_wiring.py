"""Template, state machine and code agree: substitutions, handlers, error names, IAM actions, step order."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore
import pytest

import coldvault.aws
from coldvault import errors
from coldvault.aws.permissions import adapter_methods
from coldvault.cloud import handlers, packaging, wiring
from coldvault.sandbox.lambda_runner import RUNTIME_LIBRARIES

from .conftest import walk_states

pytestmark = pytest.mark.cloud


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:  # conditional statement: the granted branch
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


MACHINES = {"ArchiveStateMachine": "archive.asl.json", "RestoreStateMachine": "restore.asl.json"}


@pytest.mark.parametrize(("machine", "asl_file"), MACHINES.items())
def test_every_substitution_is_defined_and_every_definition_used(
    template: dict[str, Any], machine: str, asl_file: str
) -> None:
    defined = set(template["Resources"][machine]["Properties"]["DefinitionSubstitutions"])
    used = packaging.substitution_names(packaging.read_cloud_file(asl_file))
    assert used == defined


def test_every_function_arn_substitution_points_at_its_function(template: dict[str, Any]) -> None:
    functions = _functions(template)
    referenced: list[str] = []
    for machine in MACHINES:
        for name, value in template["Resources"][machine]["Properties"]["DefinitionSubstitutions"].items():
            if name.endswith("FunctionArn"):
                resource = name.removesuffix("Arn")
                assert value == {"Fn::GetAtt": [resource, "Arn"]}
                assert resource in functions
                referenced.append(resource)
    assert sorted(referenced) == sorted(functions)  # no function left unused, none used twice


def test_task_states_handlers_and_pipeline_steps_line_up(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    subs = template["Resources"]["ArchiveStateMachine"]["Properties"]["DefinitionSubstitutions"]
    functions = _functions(template)
    states = dict(walk_states(asl["States"]))
    lambda_tasks = {
        n: s
        for n, s in states.items()
        if s["Type"] == "Task" and s["Resource"] == "arn:aws:states:::lambda:invoke"
    }
    assert [t for t, _, _ in wiring.TASK_STEPS] == [n for n in states if n in lambda_tasks]
    for task, handler_name, step in wiring.TASK_STEPS:
        arn_name = lambda_tasks[task]["Parameters"]["FunctionName"].strip("${}")
        function = functions[subs[arn_name]["Fn::GetAtt"][0]]
        assert function["Properties"]["Handler"] == f"coldvault.cloud.handlers.{handler_name}"
        module, _, name = step.rpartition(".")
        source = inspect.getsource(getattr(handlers, handler_name))
        assert callable(getattr(__import__(module, fromlist=[name]), name))
        assert step.rsplit(".", 1)[1].split("_")[0] in source or name in source, (task, step)
    # one handler per Task state, nothing else exported as a handler
    public = {
        n for n, f in inspect.getmembers(handlers, inspect.isfunction) if f.__module__ == handlers.__name__
    }
    assert {h for _, h, _ in wiring.TASK_STEPS} == {n for n in public if not n.startswith("_")}


def test_the_item_path_runs_the_cli_step_order(asl: dict[str, Any]) -> None:
    """Along the success path the per-point states are the CLI runner's steps, in its order."""
    item = asl["States"]["ArchiveEach"]["ItemProcessor"]
    order, name, seen = [], item["StartAt"], set()
    while name and name not in seen:
        seen.add(name)
        state = item["States"][name]
        if state["Type"] == "Task":
            order.append(name)
        if state["Type"] == "Choice":  # follow the forward branch of each Choice
            forward = [
                c["Next"] for c in state["Choices"] if c["Next"] not in seen and c["Next"] != "WaitForStore"
            ]
            name = forward[0] if forward else state["Default"]
        else:
            name = state.get("Next")
    assert order == ["StartStore", "CopyArchive", "VerifyArchive", "DeleteRecoveryPoint", "PublishResult"]
    # ...and the pipeline numbers its steps in its module docstrings ("Step 4: copy…"): the Task states
    # call them in that order.
    numbers = []
    for _, _, step in wiring.TASK_STEPS:
        module = importlib.import_module(step.rpartition(".")[0])
        match = re.match(r"Steps? (\d+)", inspect.getdoc(module) or "")
        if match:
            numbers.append(int(match.group(1)))
    assert len(numbers) >= 6
    assert numbers == sorted(numbers)


def test_every_error_name_is_a_states_lambda_or_coldvault_error(asl: dict[str, Any]) -> None:
    names: set[str] = set()
    for _, state in walk_states(asl["States"]):
        for clause in [*state.get("Retry", []), *state.get("Catch", [])]:
            names.update(clause["ErrorEquals"])
    assert names
    for name in names:
        if name.startswith(("States.", "Lambda.")):
            continue
        cls = getattr(errors, name, None)
        assert isinstance(cls, type), f"{name} is not a coldvault error class"
        assert issubclass(cls, errors.ColdvaultError)


def test_every_point_task_is_caught_and_lambda_errors_retried(asl: dict[str, Any]) -> None:
    item_states = asl["States"]["ArchiveEach"]["ItemProcessor"]["States"]
    for name, state in item_states.items():
        if state["Type"] != "Task":
            continue
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert "Lambda.ServiceException" in retried or "States.ALL" in retried, name
        if name != "RecordFailure":
            assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"]
            assert state["Catch"][0]["Next"] == "RecordFailure"
    quota = item_states["StartStore"]["Retry"][0]
    assert quota["ErrorEquals"] == ["StoreQuotaExceeded"]
    waited = sum(
        min(quota["IntervalSeconds"] * quota["BackoffRate"] ** i, quota["MaxDelaySeconds"])
        for i in range(quota["MaxAttempts"])
    )
    assert 3600 <= waited <= 24 * 3600  # the quota is waited out for hours, then the point fails


def test_every_handler_imports_from_the_built_zip_alone(tmp_path: Path, template: dict[str, Any]) -> None:
    """A clean interpreter (-I -S) with only the zip and the Lambda runtime's libraries imports them all."""
    archive = tmp_path / "lambda.zip"
    archive.write_bytes(packaging.build_zip())
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(botocore.__file__).resolve().parents[1]
    for name in RUNTIME_LIBRARIES:
        for candidate in (site / name, site / f"{name}.py"):
            if candidate.exists():
                (runtime / candidate.name).symlink_to(candidate)
    handler_names = sorted({f["Properties"]["Handler"] for f in _functions(template).values()})
    script = (
        "import importlib, json, sys\n"
        "sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "out = {}\n"
        "for h in json.loads(sys.argv[3]):\n"
        "    m, _, f = h.rpartition('.')\n"
        "    out[h] = callable(getattr(importlib.import_module(m), f))\n"
        "import coldvault\n"
        "out['from'] = coldvault.__file__\n"
        "out['moto'] = 'moto' in sys.modules or importlib.util.find_spec('moto') is not None\n"
        "out['typer'] = importlib.util.find_spec('typer') is not None\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(archive), str(runtime), json.dumps(handler_names)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert all(result[h] for h in handler_names)
    assert result["from"].startswith(str(archive))
    assert result["moto"] is False
    assert result["typer"] is False


def _adapter_classes() -> list[type]:
    """Every adapter class in coldvault.aws: a class of its own module built over a ``client``."""
    found = []
    for info in pkgutil.iter_modules(coldvault.aws.__path__, "coldvault.aws."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            init = vars(cls).get("__init__")
            if cls.__module__ == info.name and init and "client" in inspect.signature(init).parameters:
                found.append(cls)
    return found


def test_every_adapter_method_declares_its_iam_actions_as_data() -> None:
    adapters = _adapter_classes()
    assert {a.__name__ for a in adapters} >= {"Backup", "Ec2", "S3", "Sqs", "Ssm", "Sts", "StepFunctions"}
    for adapter in adapters:
        methods = adapter_methods(adapter)
        assert methods, adapter
        undeclared = [name for name, actions in methods.items() if actions is None]
        assert not undeclared, f"{adapter.__name__} methods without @permissions: {undeclared}"
        for actions in methods.values():
            assert actions is not None
            assert all(re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", a) for a in actions), actions
        # the declarations replaced docstring conventions and per-module tables
        assert not hasattr(importlib.import_module(adapter.__module__), "IAM_ACTIONS")


def test_the_function_adapters_have_no_method_name_in_common() -> None:
    """A role's calls are matched to adapter methods by name: no name may mean two methods."""
    seen: dict[str, str] = {}
    for adapter in wiring.FUNCTION_ADAPTERS:
        for name in adapter_methods(adapter):
            assert name not in seen, f"{adapter.__name__}.{name} and {seen[name]}.{name}"
            seen[name] = adapter.__name__


@pytest.mark.parametrize("role", wiring.ROLES, ids=lambda r: r.resource)
def test_every_adapter_a_role_imports_is_scanned_for(role: wiring.Role) -> None:
    imported = {m for module in wiring.role_modules(role) for m in wiring._imports(module)}
    covered = {a.__module__ for a in wiring.FUNCTION_ADAPTERS}
    for adapter in _adapter_classes():
        if adapter.__module__ in imported:
            assert adapter.__module__ in covered, f"{adapter.__name__} is not in wiring.FUNCTION_ADAPTERS"


@pytest.mark.parametrize("role", wiring.ROLES, ids=lambda r: r.resource)
def test_each_lambda_role_grants_exactly_what_its_functions_call_plus_its_table(
    template: dict[str, Any], role: wiring.Role
) -> None:
    handlers_of_role = {
        f["Properties"]["Handler"].rpartition(".")[0]
        for f in _functions(template).values()
        if f["Properties"]["Role"] == {"Fn::GetAtt": [role.resource, "Arn"]}
    }
    assert handlers_of_role == {role.handlers}
    granted: set[str] = set()
    for statement in _statements(template, role.resource):
        assert statement["Effect"] == "Allow"
        granted |= _actions(statement)
    called = wiring.code_actions(role)
    assert called, "the adapters declare the IAM actions they call"
    assert not called - granted, f"called but not granted: {sorted(called - granted)}"
    table = set(role.granted_on_our_behalf)
    unexplained = granted - called - table
    assert not unexplained, f"granted without a caller or a reason: {sorted(unexplained)}"
    assert not table - granted, f"declared but not granted: {sorted(table - granted)}"
    assert not table & called, f"in the table but called by code: {sorted(table & called)}"
    for reason in [*role.granted_on_our_behalf.values(), *role.not_run.values()]:
        assert len(reason.split()) >= 5
    modules = wiring.role_modules(role)
    assert role.handlers in modules
    for module in role.not_run:  # each exclusion is imported by the role's code, or it is stale
        assert any(module in wiring._imports(m) for m in modules), module


def test_the_restore_role_never_deletes_archives_or_recovery_points() -> None:
    called = wiring.code_actions(wiring.RESTORE)
    assert not {"backup:DeleteRecoveryPoint", "s3:DeleteObject"} & called
    assert "S3.delete" not in wiring.called_methods(wiring.RESTORE)
    assert "Ec2.create_store_image_task" not in wiring.called_methods(wiring.RESTORE)


def test_the_scan_follows_imports_and_calls_and_keeps_the_roles_apart() -> None:
    """Calls are followed function by function through the modules the handlers import: the restore
    handlers reach the catalogue's reads but not the archive's manifest writes that share a module
    with them; a method passed on to be called counts as called."""
    assert "coldvault.catalog" in wiring.role_modules(wiring.RESTORE)
    reached = wiring.reached_names(wiring.RESTORE)
    assert {"find", "head_archive", "request_restore"} <= reached
    assert "record_deletion" not in reached
    bodies, _ = wiring._definitions("coldvault.catalog")
    assert "state" in bodies["with_states"]  # pool.map(self.state, …): passed on, not called there
    assert "coldvault.restore.steps" not in wiring.role_modules(wiring.ARCHIVE)
    assert "S3.head_archive" not in wiring.called_methods(wiring.ARCHIVE)


def test_function_role_is_scoped(template: dict[str, Any]) -> None:
    wildcard_ok = {"StoreTasks", "LegalHolds"}  # EC2 store tasks and legal holds have no resource scoping
    # The AMIs' snapshot keys are not known in advance: usable only through EC2/EBS, by this account.
    via_ec2_only = {"AmiSnapshotKeys", "AmiSnapshotKeyGrants"}
    for statement in _statements(template, "FunctionRole"):
        if statement["Resource"] == "*" and statement["Sid"] in via_ec2_only:
            condition = statement["Condition"]["StringEquals"]
            assert {"kms:ViaService", "kms:CallerAccount"} <= set(condition), statement["Sid"]
        elif statement["Resource"] == "*":
            assert statement["Sid"] in wildcard_ok, statement["Sid"]
        assert not any(a.endswith(":*") or a == "*" for a in _actions(statement)), statement["Sid"]


def test_state_machine_role_invokes_exactly_its_functions(template: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in _statements(template, "StateMachineRole")}
    invoked = {r["Fn::GetAtt"][0] for r in statements["InvokeFunctions"]["Resource"]}
    subs = template["Resources"]["ArchiveStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert invoked == {v["Fn::GetAtt"][0] for k, v in subs.items() if k.endswith("FunctionArn")}
    assert statements["Notify"]["Resource"] == {"Ref": "NotificationTopic"}
    assert statements["ContinueWithNextBatch"]["Resource"]["Fn::Sub"].endswith(
        ":stateMachine:${AWS::StackName}-archive"
    )
    machine = template["Resources"]["ArchiveStateMachine"]["Properties"]
    assert machine["StateMachineName"] == {"Fn::Sub": "${AWS::StackName}-archive"}

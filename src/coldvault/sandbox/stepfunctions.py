"""Step Functions in the sandbox: deployed state machines execute, and waits follow sandbox time.

moto 5.2.5 executes the real ASL only in its *parser* backend (``stepfunctions_parser_backends``),
chosen by ``StepFunctionResponse`` when ``execute_state_machine`` is on. Its CloudFormation handlers
(``StateMachine.create_from_cloudformation_json`` and friends) always write to the plain backend
(``stepfunctions_backends``), so a stack's state machine was invisible to ``StartExecution``: that is
why CloudFormation-created state machines "did not execute". :func:`install` routes them to the same
backend the API uses, and applies ``DefinitionSubstitutions`` (which moto ignores) the way
CloudFormation does: every ``${Name}`` in ``DefinitionString`` replaced by its value.

Time: ``Wait`` states and ``Retry`` intervals really wait ``seconds × wait_scale`` (a sandbox
setting), and the sandbox clock is moved on to at least "wait start + seconds", so store tasks and
other simulated work progress as if the whole wait had happened. Concurrent waits do not add up.

The engine's service integrations call the sandbox back at ``localhost:$MOTO_PORT``, which the
sandbox server sets to the port it bound.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_lock = threading.Lock()
_installed: set[str] = set()

_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def substitute(definition: str, substitutions: dict[str, Any] | None) -> str:
    """CloudFormation's ``DefinitionSubstitutions``: ``${Name}`` → value; unknown names stay as they are."""
    if not substitutions:
        return definition
    values = {str(k): str(v) for k, v in substitutions.items()}
    return _SUBSTITUTION.sub(lambda m: values.get(m.group(1), m.group(0)), definition)


def _executing_backend(account_id: str, region_name: str) -> Any:
    from moto.stepfunctions.responses import get_backend

    return get_backend(account_id, region_name)


def _definition(properties: dict[str, Any]) -> str:
    return substitute(properties.get("DefinitionString", ""), properties.get("DefinitionSubstitutions"))


def _install_cloudformation() -> None:
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.utils import cfn_to_api_tags

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        backend = _executing_backend(account_id, region_name)
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            _definition(properties),
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            loggingConfiguration=properties.get("LoggingConfiguration"),
            tracingConfiguration=properties.get("TracingConfiguration"),
            sm_type=properties.get("StateMachineType"),
        )

    def delete(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        _executing_backend(account_id, region_name).delete_state_machine(resource_name)

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("StateMachineName", original_resource.name)
        backend = _executing_backend(account_id, region_name)
        if name != original_resource.name:
            new = create(cls, name, cloudformation_json, account_id, region_name)
            backend.delete_state_machine(original_resource.arn)
            return new
        return backend.update_state_machine(
            original_resource.arn,
            definition=_definition(properties) or None,
            role_arn=properties.get("RoleArn") or None,
        )

    StateMachine.create_from_cloudformation_json = classmethod(create)
    StateMachine.delete_from_cloudformation_json = classmethod(delete)
    StateMachine.update_from_cloudformation_json = classmethod(update)


def scaled_wait(seconds: float, event: threading.Event | None = None) -> None:
    """Wait ``seconds`` of sandbox time: ``seconds × wait_scale`` really, then the sandbox clock is
    moved on to (at least) the wait's start plus ``seconds``."""
    from coldvault.sandbox.state import STATE

    if seconds <= 0:
        return
    clock = STATE.clock
    target = clock.now().timestamp() + seconds
    real = seconds * max(0.0, STATE.settings.wait_scale)
    if event is not None:
        event.wait(real)
    else:
        threading.Event().wait(real)
    behind = target - clock.now().timestamp()
    if behind > 0:
        clock.advance(behind)


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: ``sleep`` follows sandbox time."""

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        scaled_wait(seconds)


def _install_time() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        scaled_wait(wait_seconds, env.program_state_event)

    WaitFunction._wait_interval = wait_interval
    retrier_decl.time = _ScaledTime()


def _install_start_execution() -> None:
    """moto's ``states:startExecution`` integration passes the ASL's ``StateMachineArn``/``Name``/``Input``
    to boto3 as they are (boto3 wants ``stateMachineArn``…) and fails with a ``KeyError``; its response
    keeps boto3's casing and a datetime. Step Functions itself answers ``ExecutionArn``/``StartDate``."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._eval_service_task

    def eval_service_task(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if self._get_boto_service_action() == "start_execution":
            for key in ("StateMachineArn", "Name", "Input", "TraceHeader"):
                if key in normalised_parameters:
                    normalised_parameters[key[0].lower() + key[1:]] = normalised_parameters.pop(key)
        original(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        if self._get_boto_service_action() == "start_execution" and isinstance(env.stack[-1], dict):
            response = env.stack.pop()
            env.stack.append(
                {
                    key[0].upper() + key[1:]: value.isoformat() if hasattr(value, "isoformat") else value
                    for key, value in response.items()
                }
            )

    StateTaskServiceSfn._eval_service_task = eval_service_task


def install() -> None:
    """Idempotent."""
    with _lock:
        if "all" in _installed:
            return
        _install_cloudformation()
        _install_time()
        _install_start_execution()
        _installed.add("all")

"""``coldvault deploy`` and ``coldvault run``: the stack and its executions, planned then carried out.

A deployment goes as SAM's does. :func:`plan_deploy` (read-only) settles create or update, every
parameter's value and where it comes from (the command line, ``coldvault.toml``, the stack's current
value, the template's default) and where the package goes. :func:`create_change_set` uploads the Lambda
package and the packaged template to the artifact bucket (created if needed, private and encrypted) and
creates a change set: nothing in the stack changes yet, and the change set says what would (resources
added, modified, removed). An unchanged stack gives a change set that ``FAILED`` with "didn't contain
changes": nothing to do, a success. :func:`execute_change_set` executes it and streams the stack's
events (every page of ``DescribeStackEvents``, newest first from the API, shown oldest first, each once)
until the stack settles; a rollback names each failed resource and CloudFormation's reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coldvault import keys
from coldvault.aws.artifacts import Artifacts
from coldvault.aws.cloudformation import NO_CHANGES, ChangeSet, CloudFormation, Stack, StackEvent
from coldvault.aws.s3 import S3
from coldvault.aws.session import AwsSession
from coldvault.aws.stepfunctions import Execution, StepFunctions
from coldvault.aws.sts import Sts
from coldvault.clock import Clock, Deadline
from coldvault.cloud import packaging
from coldvault.cloud.parameters import SET_BY_DEPLOY, check_overrides, template_parameters
from coldvault.config import new_run_id
from coldvault.errors import ColdvaultError, PreflightError, UsageError

STACK_DEADLINE_SECONDS = 3600.0
CHANGE_SET_DEADLINE_SECONDS = 600.0
RUN_POLL_SECONDS = 2.0


class DeployFailed(ColdvaultError):
    """The stack could not be created or updated (CloudFormation rolled back)."""


class RunFailed(ColdvaultError):
    """The archive execution failed, or could not be followed to its end."""


@dataclass(frozen=True)
class DeployPlan:
    stack_name: str
    action: str  # "create" | "update"
    parameters: dict[str, str]  # what the stack gets (defaults left to CloudFormation)
    artifact_bucket: str
    artifact_key: str
    template_key: str
    zip_bytes: bytes = field(repr=False)
    template_text: str = field(repr=False)
    # Every settable parameter's value as the stack will have it, and where it comes from:
    # "given" (command line), "coldvault.toml", "stack" (its current value) or "default" (template).
    shown: tuple[tuple[str, str, str], ...] = ()


def default_artifact_bucket(account: str, region: str) -> str:
    return f"coldvault-artifacts-{account}-{region}"


def plan_deploy(
    aws: AwsSession,
    stack_name: str,
    overrides: dict[str, str],
    artifact_bucket: str | None,
    *,
    configured: dict[str, str] | None = None,
    config_label: str = "coldvault.toml",
) -> DeployPlan:
    """What the deployment will do; raises :class:`UsageError` before anything changes.

    ``overrides`` (the command line) win over ``configured`` (the config file), which wins over the
    stack's current values, which win over the template's defaults.
    """
    if not stack_name or not stack_name[0].isalpha():
        raise UsageError(f"invalid stack name {stack_name!r}", hint="use letters, digits and hyphens")
    cfn = CloudFormation(aws.client("cloudformation"))
    existing = cfn.describe(stack_name)
    reviewing = existing is not None and existing.status == "REVIEW_IN_PROGRESS"  # a change set never run
    if existing is not None and existing.in_progress and not reviewing:
        raise UsageError(
            f"stack {stack_name} is {existing.status}", hint="wait for it to finish, then deploy again"
        )
    if existing is not None and existing.status == "ROLLBACK_COMPLETE":
        raise UsageError(
            f"stack {stack_name} failed to create and was rolled back",
            hint=f"delete it (aws cloudformation delete-stack --stack-name {stack_name}) and deploy again",
        )
    template = packaging.packaged_template()
    declared = template_parameters(template)
    given = {**(configured or {}), **overrides}
    previous = existing.parameters if existing is not None and not reviewing else None
    params = check_overrides(declared, given, previous)
    shown = []
    for name in sorted(n for n in declared if n not in SET_BY_DEPLOY):
        if name in overrides:
            shown.append((name, overrides[name], "given"))
        elif configured and name in configured:
            shown.append((name, configured[name], config_label))
        elif name in params:
            shown.append((name, params[name], "stack"))
        else:
            shown.append((name, declared[name].default or "", "default"))
    zip_bytes = packaging.build_zip()
    bucket = artifact_bucket or default_artifact_bucket(Sts(aws.client("sts")).account_id(), aws.region_name)
    digest = hashlib.sha256(template.encode()).hexdigest()[:16]
    return DeployPlan(
        stack_name=stack_name,
        action="create" if existing is None or reviewing else "update",
        parameters=params,
        artifact_bucket=bucket,
        artifact_key=packaging.artifact_key(zip_bytes),
        template_key=f"coldvault/template-{digest}.yaml",
        zip_bytes=zip_bytes,
        template_text=template,
        shown=tuple(shown),
    )


def create_change_set(
    aws: AwsSession, plan: DeployPlan, clock: Clock, on_status: Callable[[str], None] = lambda _: None
) -> ChangeSet:
    """Upload the package and the template, create the change set and wait until it is ready.

    The stack itself is unchanged (a new stack exists as ``REVIEW_IN_PROGRESS``). A change set of an
    unchanged stack comes back ``no_changes``; any other failure raises :class:`DeployFailed`.
    """
    artifacts = Artifacts(aws.client("s3"), aws.region_name)
    if artifacts.ensure_bucket(plan.artifact_bucket):
        on_status(f"created artifact bucket {plan.artifact_bucket}")
    artifacts.upload(plan.artifact_bucket, plan.artifact_key, plan.zip_bytes)
    artifacts.upload(plan.artifact_bucket, plan.template_key, plan.template_text.encode())
    url = artifacts.url(plan.artifact_bucket, plan.template_key)
    parameters = {**plan.parameters, "ArtifactBucket": plan.artifact_bucket, "ArtifactKey": plan.artifact_key}
    cfn = CloudFormation(aws.client("cloudformation"))
    name = f"coldvault-{clock.now():%Y%m%d%H%M%S}-{new_run_id()[:6]}"
    try:
        change_set_id = cfn.create_change_set(
            plan.stack_name, name, url, parameters, create=plan.action == "create"
        )
    except ColdvaultError as exc:  # UpdateStack's wording, which some endpoints answer here too
        if any(text in exc.one_line() for text in NO_CHANGES):
            return ChangeSet("", "", "FAILED", "UNAVAILABLE", exc.one_line(), (), {})
        raise
    deadline = Deadline(clock, CHANGE_SET_DEADLINE_SECONDS)
    while not (change_set := cfn.describe_change_set(change_set_id)).settled:
        if deadline.expired():
            raise DeployFailed(
                f"change set {name} still {change_set.status} after {CHANGE_SET_DEADLINE_SECONDS:.0f} s",
                hint="look at it in the CloudFormation console",
            )
        clock.sleep(min(2.0, max(0.2, deadline.remaining())))
    if change_set.status == "FAILED" and not change_set.no_changes:
        raise DeployFailed(f"change set for stack {plan.stack_name} failed: {change_set.reason}")
    return change_set


def discard_change_set(aws: AwsSession, change_set: ChangeSet) -> None:
    """Delete a change set that will not be executed (an unchanged stack's)."""
    if change_set.change_set_id:
        CloudFormation(aws.client("cloudformation")).delete_change_set(change_set.change_set_id)


def execute_change_set(
    aws: AwsSession,
    plan: DeployPlan,
    change_set: ChangeSet,
    clock: Clock,
    on_event: Callable[[StackEvent], None] = lambda _: None,
    seconds: float = STACK_DEADLINE_SECONDS,
) -> Stack:
    """Execute the change set, stream the stack's new events, and return the settled stack; a stack
    that did not end complete raises :class:`DeployFailed` naming the failed resources."""
    cfn = CloudFormation(aws.client("cloudformation"))
    name = plan.stack_name
    last = cfn.latest_event_id(name)
    cfn.execute_change_set(change_set.change_set_id)
    deadline = Deadline(clock, seconds)
    seen: list[StackEvent] = []
    while True:
        stack = cfn.describe(name)
        for event in cfn.events_since(name, last):
            seen.append(event)
            on_event(event)
            last = event.event_id
        if stack is None:
            raise DeployFailed(f"stack {name} disappeared while deploying")
        if not stack.in_progress:
            break
        if deadline.expired():
            raise DeployFailed(
                f"stack {name} still {stack.status} after {seconds:.0f} s", hint="follow it in the console"
            )
        clock.sleep(min(5.0, max(0.5, deadline.remaining())))
    if not stack.complete:
        reasons = "; ".join(cfn.failure_reasons(name, seen)) or stack.reason or stack.status
        raise DeployFailed(f"stack {name} ended {stack.status}: {reasons}")
    return stack


def execute_deploy(
    aws: AwsSession, plan: DeployPlan, clock: Clock, on_status: Callable[[str], None] = lambda _: None
) -> Stack:
    """Change set, then execution, without asking (``coldvault demo`` and the tests): the settled stack."""
    change_set = create_change_set(aws, plan, clock, on_status)
    cfn = CloudFormation(aws.client("cloudformation"))
    if change_set.no_changes:
        discard_change_set(aws, change_set)
        on_status("no changes")
        stack = cfn.describe(plan.stack_name)
        if stack is None:
            raise DeployFailed(f"stack {plan.stack_name} disappeared while deploying")
        return stack
    return execute_change_set(
        aws, plan, change_set, clock, lambda e: on_status(f"{e.status} {e.resource} {e.reason}".rstrip())
    )


# ---------------------------------------------------------------------------------------- run
@dataclass(frozen=True)
class RunHandle:
    stack_name: str
    state_machine_arn: str
    bucket: str
    run_id: str
    execution_arn: str


@dataclass
class RunProgress:
    executions: int = 0
    total: int = 0
    done: int = 0
    status: str = "RUNNING"


@dataclass(frozen=True)
class RunOutcome:
    handle: RunHandle
    executions: list[str]
    status: str
    output: dict[str, Any]
    report: dict[str, Any] | None
    error: str = ""

    @property
    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.output.get("counts") or {}).items()}

    @property
    def exit_code(self) -> int:
        bad = {"failed", "retained", "leased"}
        if self.status != "SUCCEEDED" or self.report is None:
            return 1
        return 1 if any(self.counts.get(k, 0) for k in bad) else 0


def stack_for_run(aws: AwsSession, stack_name: str) -> Stack:
    stack = CloudFormation(aws.client("cloudformation")).describe(stack_name)
    if stack is None or not stack.complete:
        state = "does not exist" if stack is None else f"is {stack.status}"
        raise PreflightError(
            f"stack {stack_name} {state}", hint=f"deploy it: coldvault deploy --stack-name {stack_name}"
        )
    for output in ("StateMachineArn", "ArchivalBucketName"):
        if not stack.outputs.get(output):
            raise PreflightError(
                f"stack {stack_name} has no {output} output", hint="redeploy it with coldvault deploy"
            )
    return stack


def start_run(aws: AwsSession, stack_name: str, run_id: str | None = None) -> RunHandle:
    stack = stack_for_run(aws, stack_name)
    rid = run_id or new_run_id()
    arn = StepFunctions(aws.client("stepfunctions")).start(
        stack.outputs["StateMachineArn"], f"run-{rid}", {"run_id": rid}
    )
    return RunHandle(
        stack_name, stack.outputs["StateMachineArn"], stack.outputs["ArchivalBucketName"], rid, arn
    )


def _progress(s3: S3, handle: RunHandle, progress: RunProgress) -> None:
    if not progress.total:
        body = s3.get_json(handle.bucket, keys.candidates_key(handle.run_id))
        progress.total = len(body.get("items", [])) if body else 0
    progress.done = sum(1 for _ in s3.iter_keys(handle.bucket, keys.results_prefix(handle.run_id)))


def follow_run(
    aws: AwsSession,
    handle: RunHandle,
    clock: Clock,
    on_progress: Callable[[RunProgress], None] = lambda _: None,
    seconds: float = 7 * 24 * 3600.0,
    poll_seconds: float = RUN_POLL_SECONDS,
) -> RunOutcome:
    """Follow the run's executions (a large run continues in new ones) to the end; read its report."""
    sfn = StepFunctions(aws.client("stepfunctions"))
    s3 = S3(aws.client("s3"))
    deadline = Deadline(clock, seconds)
    arn = handle.execution_arn
    executions = [arn]
    progress = RunProgress(executions=1)
    while True:
        execution: Execution = sfn.describe(arn)
        _progress(s3, handle, progress)
        progress.status = execution.status
        on_progress(progress)
        if execution.running:
            if deadline.expired():
                raise RunFailed(
                    f"execution {arn} still running after {seconds:.0f} s", hint="follow it in the console"
                )
            clock.sleep(poll_seconds)
            continue
        output = execution.output if isinstance(execution.output, dict) else {}
        if execution.status == "SUCCEEDED" and output.get("next_execution"):
            arn = str(output["next_execution"])
            executions.append(arn)
            progress.executions = len(executions)
            continue
        report = None
        report_keys = output.get("report") or {}
        if execution.status == "SUCCEEDED" and report_keys.get("json"):
            report = s3.get_json(handle.bucket, str(report_keys["json"]))
        error = f"{execution.error}: {execution.cause}" if execution.error else ""
        return RunOutcome(handle, executions, execution.status, output, report, error)

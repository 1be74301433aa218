"""``coldvault package``, ``coldvault deploy`` and ``coldvault run``: the cloud deployment."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from coldvault.aws.cloudformation import ChangeSet, CloudFormation, StackEvent
from coldvault.aws.session import AwsSession
from coldvault.cli.options import GlobalOptions, OutputFormat, global_options
from coldvault.clock import SystemClock
from coldvault.cloud import deploy, deploy_config, packaging
from coldvault.cloud.parameters import SET_BY_DEPLOY, parse_overrides, template_parameters
from coldvault.errors import UsageError

_err = Console(stderr=True)


def _console(opts: GlobalOptions) -> Console:
    return Console(quiet=opts.quiet or opts.output is OutputFormat.json, highlight=False)


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def package_cmd(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where to write the zip and the template.")
    ] = Path("dist"),
) -> None:
    """Build the Lambda package (deterministic zip) and the packaged CloudFormation template."""
    opts = global_options(ctx)
    result = packaging.write_package(out_dir)
    if opts.output is OutputFormat.json:
        _emit_json(
            {
                "zip": str(result.zip_path),
                "template": str(result.template_path),
                "artifact_key": result.artifact_key,
                "sha256": result.sha256,
            }
        )
        return
    console = _console(opts)
    console.print(f"Lambda package  {result.zip_path}  (sha256 {result.sha256[:16]}…)")
    console.print(f"template        {result.template_path}")
    console.print("\nTo deploy it with the AWS CLI:")
    console.print(f"  aws s3 cp {result.zip_path} s3://ARTIFACT_BUCKET/{result.artifact_key}")
    console.print(
        f"  aws cloudformation deploy --template-file {result.template_path} --stack-name NAME "
        "--capabilities CAPABILITY_IAM --s3-bucket ARTIFACT_BUCKET \\\n"
        "    --parameter-overrides ArtifactBucket=ARTIFACT_BUCKET "
        f"ArtifactKey={result.artifact_key} ArchivalBucketName=BUCKET BackupVaultName=VAULT"
    )
    console.print(
        "or simply: coldvault deploy --stack-name NAME --parameter-overrides ArchivalBucketName=BUCKET …"
    )


def deploy_cmd(
    ctx: typer.Context,
    stack_name: Annotated[
        str | None,
        typer.Option("--stack-name", help="The stack to create or update (default: coldvault.toml's)."),
    ] = None,
    parameter_overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter-overrides",
            help="Key=Value, ParameterKey=K,ParameterValue=V or file://params.json (repeatable, or listed).",
        ),
    ] = None,
    more_overrides: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
    artifact_bucket: Annotated[
        str | None,
        typer.Option(
            "--artifact-bucket", help="Bucket for the Lambda package (default: one coldvault creates)."
        ),
    ] = None,
    guided: Annotated[
        bool, typer.Option("--guided", "-g", help="Ask for each parameter and save the answers.")
    ] = False,
    config_file: Annotated[
        Path, typer.Option("--config-file", help="Where deploy settings are read and --guided saves them.")
    ] = Path(deploy_config.DEFAULT_FILE),
    no_execute_changeset: Annotated[
        bool,
        typer.Option("--no-execute-changeset", help="Create and show the change set, change nothing."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Execute the change set without asking.")] = False,
) -> None:
    """Create a change set for the stack, show it, and (confirmed) execute it, streaming the events.

    Example: coldvault deploy --stack-name coldvault --parameter-overrides ArchivalBucketName=my-archive
    BackupVaultName=prod-vault --yes
    """
    opts = global_options(ctx)
    overrides = parse_overrides([*(parameter_overrides or []), *(more_overrides or [])])
    interactive = sys.stdin.isatty()
    if guided and not interactive:
        raise UsageError(
            "--guided asks questions", hint="run it in a terminal, or pass --parameter-overrides"
        )
    if not (yes or no_execute_changeset or interactive):
        raise UsageError(
            "deploy asks for confirmation",
            hint="pass --yes (or --no-execute-changeset) to run without a terminal",
        )
    name = stack_name or deploy_config.default_stack(config_file)
    if guided:
        name = typer.prompt("Stack name", default=name or "coldvault")
    if not name:
        raise UsageError(
            "no stack name given", hint="pass --stack-name NAME (or deploy --guided once to save it)"
        )
    saved = deploy_config.load(config_file, name)
    aws = opts.aws
    aws.check_credentials()
    if guided:
        overrides = _ask(aws, name, {**saved.parameters, **overrides})
        artifact_bucket = artifact_bucket or saved.artifact_bucket
        if typer.confirm(f"Save these answers to {config_file}?", default=True):
            deploy_config.save(config_file, name, deploy_config.StackConfig(overrides, artifact_bucket))
        saved = deploy_config.StackConfig()
    console = _console(opts)
    plan = deploy.plan_deploy(
        aws,
        name,
        overrides,
        artifact_bucket or saved.artifact_bucket,
        configured=saved.parameters,
        config_label=config_file.name,
    )
    _show_plan(console, plan)
    clock = SystemClock()
    change_set = deploy.create_change_set(aws, plan, clock, lambda s: console.print(f"  {s}"))
    if change_set.no_changes:
        deploy.discard_change_set(aws, change_set)
        if opts.output is OutputFormat.json:
            _emit_json({"stack": plan.stack_name, "changes": [], "executed": False, "no_changes": True})
        else:
            console.print(f"Stack {plan.stack_name} is up to date: no changes to deploy.")
        return
    _show_changes(console, plan, change_set)
    if no_execute_changeset:
        if opts.output is OutputFormat.json:
            _emit_json(
                {"stack": plan.stack_name, "change_set": change_set.change_set_id, "executed": False,
                 "changes": [c.__dict__ for c in change_set.changes]}
            )  # fmt: skip
            return
        console.print(f"Change set created, not executed: {change_set.change_set_id}")
        console.print(
            f"Execute it: aws cloudformation execute-change-set --change-set-name {change_set.change_set_id}"
        )
        return
    if not yes:
        typer.confirm(f"Deploy this change set to stack {plan.stack_name}?", abort=True)
    console.print(f"\nStack events ({plan.stack_name}):")
    stack = deploy.execute_change_set(aws, plan, change_set, clock, lambda e: _show_event(console, e))
    if opts.output is OutputFormat.json:
        _emit_json(
            {"stack": stack.name, "status": stack.status, "outputs": stack.outputs,
             "change_set": change_set.change_set_id, "executed": True,
             "changes": [c.__dict__ for c in change_set.changes]}
        )  # fmt: skip
        return
    outputs = Table(title="outputs", show_header=False)
    for key, value in sorted(stack.outputs.items()):
        outputs.add_row(key, value)
    console.print(outputs)
    console.print(f"\nNext: coldvault run --stack-name {stack.name} --wait   (the schedule also starts it)")


def _ask(aws: AwsSession, stack_name: str, known: dict[str, str]) -> dict[str, str]:
    """``--guided``: every template parameter, its default the known value (config file or command
    line), else the stack's current one, else the template's; a refused value is asked again."""
    template = packaging.packaged_template()
    declared = template_parameters(template)
    existing = CloudFormation(aws.client("cloudformation")).describe(stack_name)
    current = existing.parameters if existing is not None else {}
    answers: dict[str, str] = {}
    for name in sorted(n for n in declared if n not in SET_BY_DEPLOY):
        parameter = declared[name]
        default = known.get(name, current.get(name, parameter.default or ""))
        label = f"Parameter {name}" + (
            f" ({'|'.join(parameter.allowed_values)})" if parameter.allowed_values else ""
        )
        while True:
            value = str(typer.prompt(label, default=default, show_default=True))
            problem = parameter.problem(value) if value or parameter.default is None else ""
            if not problem:
                break
            _err.print(f"{name} {problem}", markup=False)
        answers[name] = value
    return answers


def _show_plan(console: Console, plan: deploy.DeployPlan) -> None:
    table = Table(title=f"{plan.action.capitalize()} stack {plan.stack_name}: parameters", show_header=True)
    table.add_column("parameter", no_wrap=True)
    table.add_column("value")
    table.add_column("from")
    for key, value, source in plan.shown:
        table.add_row(key, value or "(empty)", source)
    console.print(table)
    console.print(f"Lambda package → s3://{plan.artifact_bucket}/{plan.artifact_key}")


def _show_changes(console: Console, plan: deploy.DeployPlan, change_set: ChangeSet) -> None:
    table = Table(title=f"Change set for stack {plan.stack_name}", show_header=True)
    for column in ("action", "logical id", "type", "replacement"):
        table.add_column(column, no_wrap=column != "replacement")
    for c in change_set.changes:
        table.add_row(c.action, c.logical_id, c.resource_type, c.replacement if c.action == "Modify" else "")
    console.print(table)
    counts = {a: sum(1 for c in change_set.changes if c.action == a) for a in ("Add", "Modify", "Remove")}
    console.print(f"{counts['Add']} to add, {counts['Modify']} to modify, {counts['Remove']} to remove.")


def _show_event(console: Console, event: StackEvent) -> None:
    why = f"  {event.reason}" if event.reason else ""
    console.print(
        f"  {event.time:%H:%M:%S}  {event.status:<28} {event.resource_type:<32} {event.resource}{why}",
        markup=False,
    )


def run_cmd(
    ctx: typer.Context,
    stack_name: Annotated[
        str, typer.Option("--stack-name", help="The coldvault stack whose state machine runs.")
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the run to its end and print the report.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to follow before giving up.")] = 7
    * 86400.0,
) -> None:
    """Start the archive state machine now; with --wait follow it and print the report's summary."""
    opts = global_options(ctx)
    aws: AwsSession = opts.aws
    aws.check_credentials()
    handle = deploy.start_run(aws, stack_name)
    console = _console(opts)
    console.print(f"run {handle.run_id} started: {handle.execution_arn}")
    if not wait:
        if opts.output is OutputFormat.json:
            _emit_json({"run_id": handle.run_id, "execution_arn": handle.execution_arn})
        return
    last: list[str] = [""]

    def show(progress: deploy.RunProgress) -> None:
        line = f"  {progress.status.lower()}: {progress.done}/{progress.total or '?'} points done"
        if progress.executions > 1:
            line += f" (execution {progress.executions})"
        if line != last[0]:
            console.print(line)
            last[0] = line

    outcome = deploy.follow_run(aws, handle, SystemClock(), show, seconds=timeout)
    render_outcome(console, outcome, opts)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def render_outcome(console: Console, outcome: deploy.RunOutcome, opts: GlobalOptions) -> None:
    if opts.output is OutputFormat.json:
        _emit_json(
            {
                "run_id": outcome.handle.run_id,
                "status": outcome.status,
                "executions": outcome.executions,
                "counts": outcome.counts,
                "report": outcome.output.get("report"),
                "error": outcome.error,
                "exit_code": outcome.exit_code,
            }
        )
        return
    if outcome.status != "SUCCEEDED":
        _err.print(f"coldvault: error: execution {outcome.status}: {outcome.error}", markup=False)
        return
    table = Table(title=f"run {outcome.handle.run_id}")
    table.add_column("outcome")
    table.add_column("points", justify="right")
    for key, value in sorted(outcome.counts.items()):
        table.add_row(key, str(value))
    console.print(table)
    for item in (outcome.report or {}).get("items", []):
        if item.get("outcome") in ("failed", "retained", "leased"):
            why = item.get("error") or item.get("deletion_pending") or ""
            console.print(f"  {item.get('ami_id')} {item.get('outcome')}: {why}", markup=False)
    keys = outcome.output.get("report") or {}
    console.print(f"report: s3://{outcome.handle.bucket}/{keys.get('json', '')}")


def demo_cloud(ctx: Any) -> None:
    """``coldvault demo``'s cloud step, ``(ctx: DemoContext) -> None``: seed a small fleet of its own into
    the sandbox, deploy the stack, start the state machine, follow it to the end and show the report."""
    from coldvault.sandbox.admin import SandboxAdmin

    console: Console = ctx.console
    aws: AwsSession = ctx.aws
    vault = str(ctx.data.get("cloud_vault", "coldvault-demo-cloud"))
    bucket = str(ctx.data.get("cloud_bucket", "coldvault-demo-cloud-archive"))
    if "cloud_vault" not in ctx.data:
        seeded = SandboxAdmin(ctx.endpoint_url).seed(
            vault_name=vault, instances=3, daily_days=0, monthly_months=2, seed=ctx.seed, unusable=False
        )
        console.print(
            f"vault [bold]{vault}[/bold]: {seeded['recovery_points']} recovery points to archive in the cloud"
        )
    overrides = {
        "ArchivalBucketName": bucket,
        "BackupVaultName": vault,
        "DaysRecoveryPointsCreatedBefore": str(ctx.data.get("cloud_older_than_days", 20)),
        "ArchiveStorageClass": "DEEP_ARCHIVE",
    }
    plan = deploy.plan_deploy(aws, "coldvault-demo", overrides, None)
    stack = deploy.execute_deploy(aws, plan, SystemClock(), lambda s: console.print(f"  {s}"))
    console.print(f"state machine {stack.outputs['StateMachineArn']}")
    handle = deploy.start_run(aws, stack.name)
    seen: list[str] = [""]

    def show(progress: deploy.RunProgress) -> None:
        line = f"  {progress.status.lower()}: {progress.done}/{progress.total or '?'} points done"
        if line != seen[0]:
            console.print(line)
            seen[0] = line

    outcome = deploy.follow_run(aws, handle, SystemClock(), show, seconds=600, poll_seconds=0.5)
    ctx.data["cloud_outcome"] = outcome
    render_outcome(console, outcome, GlobalOptions())


def register(app: typer.Typer) -> None:
    app.command("package")(package_cmd)
    app.command("deploy")(deploy_cmd)
    app.command("run")(run_cmd)

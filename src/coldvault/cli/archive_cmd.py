"""``coldvault plan`` (a dry run) and ``coldvault archive`` (do it): the CLI edge of the pipeline.

Their setting flags are the rows of :mod:`coldvault.settings_table` (one typer option per row, built
from the row); :func:`coldvault.settings.resolve` takes the flags, then the ``--config`` SSM path, then
the defaults. Bad input raises :class:`~coldvault.errors.ConfigurationError` or another
:class:`~coldvault.errors.UsageError` (exit 2) before anything changes.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console

from coldvault import lease, pipeline, pricing
from coldvault import preflight as checks
from coldvault.aws.session import AwsSession
from coldvault.aws.ssm import Ssm
from coldvault.aws.sts import Sts
from coldvault.cli import progress_view, render
from coldvault.cli.options import GlobalOptions, OutputFormat, global_options
from coldvault.config import Settings, new_run_id
from coldvault.errors import ColdvaultError, ConfigurationError, UsageError
from coldvault.lease import LeaseOwner
from coldvault.pipeline.services import Services, services_from_session
from coldvault.progress import Tally
from coldvault.report import Report, record_plan, write_report
from coldvault.runner import Runner
from coldvault.selection import Plan
from coldvault.settings import Raw, resolve
from coldvault.settings_table import ROWS, Row

Flags = Mapping[str, Raw]  # a setting flag ("--vault") to its value; None: not given


def _ssm(aws: AwsSession, path: str | None) -> dict[str, str]:
    if not path:
        return {}
    if not path.startswith("/"):
        raise ConfigurationError(
            f"--config must be an SSM path, not {path!r}", hint="for example --config /coldvault/prod"
        )
    params = Ssm(aws.client("ssm")).parameters(path)
    if not params:
        raise ConfigurationError(f"no parameters under {path}", hint="check --config and --region")
    return params


def preflight(svc: Services, aws: AwsSession, settings: Settings, *, changing: bool) -> None:
    """Everything checked before the first change (:mod:`coldvault.preflight`); PreflightError: exit 2."""
    checks.check(svc, settings, region=aws.region_name, changing=changing)


def _stale_lease(holder: dict[str, Any]) -> bool:
    """A lease held by a process of this host that no longer exists (a crashed CLI run)."""
    if holder.get("host") != socket.gethostname() or not holder.get("pid"):
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def build(
    opts: GlobalOptions, flags: Flags, config: str | None, prices: str | None
) -> tuple[Services, Settings, pricing.Prices]:
    aws = opts.aws
    aws.check_credentials()
    price_table = pricing.Prices.load(prices)
    ssm = _ssm(aws, config)
    run_id = new_run_id()
    svc = services_from_session(
        aws, owner=LeaseOwner(run_id=run_id, host=socket.gethostname(), pid=os.getpid())
    )
    svc.stale_lease = _stale_lease
    settings = resolve(flags, ssm, path=config, now=svc.clock.now(), run_id=run_id)
    settings = settings.with_(account_id=Sts(aws.client("sts")).account_id())
    return svc, settings, price_table


def make_plan(svc: Services, settings: Settings, prices: pricing.Prices) -> tuple[Plan, pricing.Estimate]:
    plan = pipeline.list_candidates(svc, settings)
    estimate = pricing.estimate(
        plan.candidates,
        settings.storage_class,
        prices,
        svc.clock.now(),
        instances_keeping_points=plan.instances_kept,
    )
    return plan, estimate


class Interrupted(ColdvaultError):
    """Ctrl-C or SIGTERM stopped the run: the report holds what finished; exit 130."""

    exit_code = 130

    def __init__(self, report: Report, finished: int, unfinished: int, released: int) -> None:
        super().__init__(
            f"interrupted: {finished} recovery point(s) finished, {unfinished} left for the next run "
            f"({released} lease(s) released)",
            hint="run the same command again to continue",
        )
        self.report = report


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While the run lasts, the first SIGINT or SIGTERM sets ``stop`` (the runner ends cleanly); a
    second one stops at once (KeyboardInterrupt: exit 130, leases left to expire)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute(
    svc: Services, settings: Settings, plan: Plan, estimate: pricing.Estimate, console: Console, mode: str
) -> Report | None:
    """Run the plan with its progress on stderr (``mode``: live, json or quiet); the report (None when
    there was nothing to do). Raises :class:`Interrupted` after a Ctrl-C or SIGTERM, once the report of
    what finished is written and the leases of the points left are released."""
    if not plan.candidates:
        lease.sweep(svc.s3, settings.bucket, now=svc.clock.now(), is_stale=svc.stale_lease)
        return None
    started = svc.clock.now()
    record_plan(svc, settings, plan, estimate.to_json())
    works = [pipeline.new_work(settings, p) for p in plan.candidates]
    tally = Tally(svc.clock, len(works), plan.candidate_bytes)
    view = progress_view.for_run(tally, quiet=mode == "quiet", as_json=mode == "json")
    stop = threading.Event()
    with stop_on_signals(stop), view:
        runner = Runner(svc, settings, emit=view, stop=stop)
        runner.run(works)
    report = write_report(svc, settings, settings.run_id, started)
    if runner.interrupted:
        # Every unfinished point stopped at a step boundary (none is mid-operation): the next runner,
        # this command again or the schedule, continues it; a started store task is reused.
        released = lease.release_run(svc.s3, settings.bucket, svc.owner)
        raise Interrupted(report, len(runner.finished), len(runner.unfinished), len(released))
    lease.sweep(svc.s3, settings.bucket, now=svc.clock.now(), is_stale=svc.stale_lease)
    return report


# -- typer commands --------------------------------------------------------------------------

ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="SSM Parameter Store path with the settings (flags win).")
]
PricesOpt = Annotated[str | None, typer.Option("--prices", help="JSON file overriding the price table.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _option(row: Row) -> inspect.Parameter:
    """A row's flag as a typer option: text (parsed by the row, as its SSM value is) or a boolean."""
    help_text = row.doc.replace("`", "")
    if row.boolean:  # "`true` | `false`: what it does" says what the flag does
        help_text = help_text.split(": ", 1)[-1]
    if row.default and row.cli_default and not row.boolean:
        help_text += f" [default: {row.default}]"
    decls = f"{row.flag}/{row.negative_flag}" if row.negative_flag else str(row.flag)
    if row.boolean:
        annotation: Any = Annotated[bool | None, typer.Option(decls, help=help_text, show_default=False)]
    else:
        option = typer.Option(decls, help=help_text, metavar=row.metavar, show_default=False)
        annotation = Annotated[str | None, option]
    return inspect.Parameter(
        row.flag_key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


def _with_setting_flags(command: Callable[..., None], rows: tuple[Row, ...]) -> Callable[..., None]:
    """``command(ctx, …, **flags)`` with one option per row, after ``ctx`` (typer reads the signature)."""
    own = [p for p in inspect.signature(command).parameters.values() if p.kind is not p.VAR_KEYWORD]
    ctx, rest = own[0], [p.replace(kind=p.KEYWORD_ONLY) for p in own[1:]]
    params = [ctx, *(_option(r) for r in rows), *rest]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return command


def _flags(rows: tuple[Row, ...], given: Mapping[str, Any]) -> dict[str, Raw]:
    return {str(r.flag): given.get(r.flag_key) for r in rows}


PLAN_ROWS = tuple(r for r in ROWS if r.flag and r.plan)
ARCHIVE_ROWS = tuple(r for r in ROWS if r.flag)


def _console(opts: GlobalOptions) -> Console:
    return Console(
        stderr=opts.output is OutputFormat.json, quiet=opts.quiet and opts.output is not OutputFormat.json
    )


def _prepare(
    ctx: typer.Context, flags: Flags, config: str | None, prices: str | None, *, changing: bool
) -> tuple[GlobalOptions, Services, Settings, Plan, pricing.Estimate]:
    """What ``plan`` and ``archive`` both do first: settings, preflight checks, the plan and its cost."""
    opts = global_options(ctx)
    svc, settings, price_table = build(opts, flags, config, prices)
    preflight(svc, opts.aws, settings, changing=changing)
    plan, estimate = make_plan(svc, settings, price_table)
    return opts, svc, settings, plan, estimate


def plan_cmd(ctx: typer.Context, config: ConfigOpt = None, prices: PricesOpt = None, **given: Any) -> None:
    """Show what would be archived, what is skipped and why, and the cost before and after (read-only)."""
    opts, _, _, plan, estimate = _prepare(ctx, _flags(PLAN_ROWS, given), config, prices, changing=False)
    if opts.output is OutputFormat.json:
        print(json.dumps(render.plan_json(plan, estimate), indent=1))
    else:
        render.render_plan(Console(quiet=opts.quiet), plan, estimate)


def archive_cmd(
    ctx: typer.Context, config: ConfigOpt = None, prices: PricesOpt = None, yes: YesOpt = False, **given: Any
) -> None:
    """Archive the selected recovery points: store → copy → verify → delete (confirmed) → report."""
    flags = _flags(ARCHIVE_ROWS, given)
    opts, svc, settings, plan, estimate = _prepare(ctx, flags, config, prices, changing=True)
    console = _console(opts)
    as_json = opts.output is OutputFormat.json
    if not as_json:
        render.render_plan(console, plan, estimate)
    if plan.candidates and not yes:
        if not sys.stdin.isatty():
            raise UsageError("archive asks for confirmation", hint="pass --yes to run without a terminal")
        typer.confirm(f"Archive {len(plan.candidates)} recovery point(s)?", abort=True)
    mode = "json" if as_json else ("quiet" if opts.quiet else "live")
    try:
        report = execute(svc, settings, plan, estimate, console, mode)
    except Interrupted as stopped:
        _summary(opts, console, stopped.report, settings, interrupted=True)
        Console(stderr=True, highlight=False).print(f"coldvault: {stopped.one_line()}", markup=False)
        raise typer.Exit(Interrupted.exit_code) from None
    if report is None:
        if as_json:
            print(json.dumps({"event": "summary", "nothing_to_do": True, "exit_code": 0}))
        else:
            console.print("Nothing to do: every selected recovery point is archived.")
        raise typer.Exit(0)
    _summary(opts, console, report, settings)
    raise typer.Exit(report.exit_code)


def _summary(
    opts: GlobalOptions, console: Console, report: Report, settings: Settings, *, interrupted: bool = False
) -> None:
    """The run's summary on stdout (JSON, one line with --quiet, or the table)."""
    if opts.output is OutputFormat.json:
        extra = {"interrupted": True, "exit_code": Interrupted.exit_code} if interrupted else {}
        doc = {"event": "summary", **report.to_json(), "report_keys": report.keys, **extra}
        print(json.dumps(doc, default=str))
    elif opts.quiet:
        t = report.totals()
        print(
            f"run {report.run_id}: archived {t['archived']}, retained {t['retained']}, failed {t['failed']}, "
            f"leased {t['leased']}; report s3://{settings.bucket}/{report.keys['json']}"
        )
    else:
        render.render_summary(Console(), report, settings.bucket)


def register(app: typer.Typer) -> None:
    app.command("plan")(_with_setting_flags(plan_cmd, PLAN_ROWS))
    app.command("archive")(_with_setting_flags(archive_cmd, ARCHIVE_ROWS))

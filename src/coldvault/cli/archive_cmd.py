"""``coldvault plan`` (a dry run) and ``coldvault archive`` (do it): the CLI edge of the pipeline.

Their setting flags are the rows of :mod:`coldvault.settings_table` (one typer option per row, built
from the row); :func:`coldvault.settings.resolve` takes the flags, then the ``--config`` SSM path, then
the defaults. Bad input raises :class:`~coldvault.errors.ConfigurationError` or another
:class:`~coldvault.errors.UsageError` (exit 2) before anything changes.
"""

from __future__ import annotations

import contextlib
import inspect
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
from coldvault.cli import progress_view, render, savings_view
from coldvault.cli.options import GlobalOptions, OutputFormat, example, global_options, with_global_options
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


def make_plan(
    svc: Services, settings: Settings, prices: pricing.Prices, *, measure_savings: bool | None = None
) -> tuple[Plan, pricing.Estimate]:
    """The plan and its cost; what archiving saves is measured for ``plan`` and with --only-if-saves."""
    plan = pipeline.list_candidates(svc, settings, prices, measure_savings=measure_savings)
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
HtmlOpt = Annotated[
    str | None,
    typer.Option(
        "--html", metavar="FILE", help="Also write the cost chart and every candidate's figures as a page."
    ),
]
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


def _prepare(
    ctx: typer.Context, flags: Flags, config: str | None, prices: str | None, *, changing: bool
) -> tuple[GlobalOptions, Services, Settings, Plan, pricing.Estimate]:
    """What ``plan`` and ``archive`` both do first: settings, preflight checks, the plan and its cost."""
    opts = global_options(ctx)
    svc, settings, price_table = build(opts, flags, config, prices)
    preflight(svc, opts.aws, settings, changing=changing)
    plan, estimate = make_plan(svc, settings, price_table, measure_savings=None if changing else True)
    return opts, svc, settings, plan, estimate


def plan_cmd(
    ctx: typer.Context, config: ConfigOpt = None, prices: PricesOpt = None, html: HtmlOpt = None, **given: Any
) -> None:
    """Show what would be archived, what is skipped and why, what archiving saves (read-only)."""
    opts, _, settings, plan, estimate = _prepare(
        ctx, _flags(PLAN_ROWS, given), config, prices, changing=False
    )
    if html is not None and plan.savings is not None:
        savings_view.write_html(
            html,
            plan.savings,
            prices=pricing.Prices.load(prices),
            storage_class=settings.storage_class.value,
            vault=settings.vault,
        )

    def table(console: Console) -> None:
        render.render_plan(console, plan, estimate)
        savings_view.print_savings(console, plan.savings)

    opts.emit(
        {**render.plan_json(plan, estimate), "savings": savings_view.savings_json(plan.savings)},
        table=table,
        summary=render.plan_line(plan),
    )


def archive_cmd(
    ctx: typer.Context, config: ConfigOpt = None, prices: PricesOpt = None, yes: YesOpt = False, **given: Any
) -> None:
    """Archive the selected recovery points: store → copy → verify → delete (confirmed) → report."""
    flags = _flags(ARCHIVE_ROWS, given)
    opts, svc, settings, plan, estimate = _prepare(ctx, flags, config, prices, changing=True)
    err = opts.err()  # the plan, the prompt and the progress on stderr; the result on stdout
    render.render_plan(err, plan, estimate)
    if plan.candidates and not yes:
        if not sys.stdin.isatty():
            raise UsageError("archive asks for confirmation", hint="pass --yes to run without a terminal")
        typer.confirm(f"Archive {len(plan.candidates)} recovery point(s)?", abort=True, err=True)
    mode = "quiet" if opts.quiet else ("json" if opts.format is OutputFormat.json else "live")
    try:
        report = execute(svc, settings, plan, estimate, err, mode)
    except Interrupted as stopped:
        _summary(opts, stopped.report, settings, interrupted=True)
        Console(stderr=True, highlight=False).print(f"coldvault: {stopped.one_line()}", markup=False)
        raise typer.Exit(Interrupted.exit_code) from None
    if report is None:
        nothing = "Nothing to do: every selected recovery point is archived."
        opts.emit(
            {"run_id": settings.run_id, "nothing_to_do": True, "exit_code": 0, "totals": {}, "items": []},
            table=lambda console: console.print(nothing),
            summary=nothing,
        )
        raise typer.Exit(0)
    _summary(opts, report, settings)
    raise typer.Exit(report.exit_code)


def _summary(opts: GlobalOptions, report: Report, settings: Settings, *, interrupted: bool = False) -> None:
    """The run's document on stdout: its report (the summary table, or one line with --quiet)."""
    extra = {"interrupted": True, "exit_code": Interrupted.exit_code} if interrupted else {}
    opts.emit(
        {**report.to_json(), "report_keys": report.keys, **extra},
        table=lambda console: render.render_summary(console, report, settings.bucket),
        summary=render.run_line(report, settings.bucket),
    )


def register(app: typer.Typer) -> None:
    app.command(
        "plan",
        epilog=example(
            "coldvault plan --vault prod-vault --older-than 90 --bucket my-archive",
            "coldvault plan --config /coldvault/prod --output json --query 'candidates[].ami_id'",
        ),
    )(with_global_options(_with_setting_flags(plan_cmd, PLAN_ROWS)))
    app.command(
        "archive",
        epilog=example(
            "coldvault archive --vault prod-vault --older-than 90 --bucket my-archive --yes",
            "coldvault archive --config /coldvault/prod --yes --output json > run.json 2> progress.log",
        ),
    )(with_global_options(_with_setting_flags(archive_cmd, ARCHIVE_ROWS)))

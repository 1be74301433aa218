"""``coldvault plan`` (a dry run) and ``coldvault archive`` (do it): the CLI edge of the pipeline.

Settings come from flags, then the ``--config`` SSM path (``coldvault.config.SSM_KEYS``), then
defaults. Bad input raises :class:`~coldvault.errors.UsageError` (exit 2) before anything changes.

Test-only hook: ``COLDVAULT_TEST_CRASH_AFTER=<step>[:<n>]`` makes the process kill itself with SIGKILL
after the n-th (default first) time it passes that step boundary (``store``, ``stored``, ``copy_part``,
``copy``, ``manifest``, ``verify``, ``delete``, ``deleted``, ``publish``). It is read here only, and
only when that exact variable is set; the crash tests use it to prove a rerun converges.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
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
from coldvault.config import (
    GB,
    MIB,
    Settings,
    cutoff_from,
    new_run_id,
    parse_bool,
    parse_storage_class,
)
from coldvault.errors import ColdvaultError, ConfigurationError, UsageError
from coldvault.lease import LeaseOwner
from coldvault.models import StorageClass
from coldvault.pipeline.services import Services, services_from_session
from coldvault.progress import Tally
from coldvault.report import Report, record_plan, write_report
from coldvault.runner import Runner
from coldvault.selection import Plan

CRASH_ENV = "COLDVAULT_TEST_CRASH_AFTER"


@dataclass
class Flags:
    vault: str | None = None
    bucket: str | None = None
    older_than: str | None = None
    created_before: str | None = None
    storage_class: str | None = None
    include_undeletable: bool | None = None
    config: str | None = None
    prices: str | None = None
    concurrency: int | None = None
    max_in_progress_gb: float | None = None
    queue_url: str | None = None
    verify_content: bool | None = None
    copy_threshold_mb: float | None = None
    part_size_mb: float | None = None
    poll_min_seconds: float | None = None
    store_deadline_hours: float | None = None
    quota_wait_hours: float | None = None


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


def resolve(flags: Flags, ssm: dict[str, str], *, now: Any, run_id: str, account_id: str = "") -> Settings:
    """Flags win over SSM parameters, which win over defaults; validated once."""

    def pick(flag: Any, key: str) -> Any:
        return flag if flag is not None else ssm.get(key)

    vault, bucket = pick(flags.vault, "vault"), pick(flags.bucket, "bucket")
    if not vault:
        raise ConfigurationError("no backup vault given", hint="pass --vault NAME or --config /ssm/path")
    if not bucket:
        raise ConfigurationError("no archive bucket given", hint="pass --bucket NAME or --config /ssm/path")
    older = flags.older_than
    if older is None and flags.created_before is None:
        older = ssm.get("older-than-days")
    cutoff = cutoff_from(now, older, flags.created_before)
    storage_class = parse_storage_class(
        pick(flags.storage_class, "storage-class") or StorageClass.GLACIER_IR.value
    )
    values: dict[str, Any] = {}
    concurrency = pick(flags.concurrency, "concurrency")
    if concurrency is not None:
        values["concurrency"] = _positive_int(concurrency, "--concurrency")
    max_gb = pick(flags.max_in_progress_gb, "max-in-progress-gb")
    if max_gb is not None:
        values["max_in_progress_bytes"] = int(_positive(max_gb, "--max-in-progress-gb") * GB)
    for flag, field, scale in (
        (flags.copy_threshold_mb, "copy_threshold_bytes", MIB),
        (flags.part_size_mb, "part_size_bytes", MIB),
        (flags.poll_min_seconds, "min_poll_seconds", 1),
        (flags.store_deadline_hours, "store_deadline_seconds", 3600),
        (flags.quota_wait_hours, "quota_wait_deadline_seconds", 3600),
    ):
        if flag is not None:
            number = _positive(flag, "--" + field.replace("_", "-"))
            values[field] = int(number * scale) if field.endswith("bytes") else number * scale
    include = pick(flags.include_undeletable, "include-undeletable")
    verify = pick(flags.verify_content, "verify-content")
    return Settings(
        vault=str(vault),
        bucket=str(bucket),
        cutoff=cutoff,
        run_id=run_id,
        storage_class=storage_class,
        queue_url=pick(flags.queue_url, "queue-url") or None,
        include_undeletable=parse_bool(str(include)) if include is not None else False,
        verify_content=parse_bool(str(verify)) if verify is not None else False,
        account_id=account_id,
        **values,
    )


def _positive(value: Any, flag: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{flag} must be a number, not {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"{flag} must be positive, not {value!r}")
    return number


def _positive_int(value: Any, flag: str) -> int:
    number = _positive(value, flag)
    if number != int(number):
        raise ConfigurationError(f"{flag} must be a whole number, not {value!r}")
    return int(number)


def preflight(svc: Services, aws: AwsSession, settings: Settings, *, changing: bool) -> None:
    """Everything checked before the first change (:mod:`coldvault.preflight`); PreflightError: exit 2."""
    checks.check(svc, settings, region=aws.region_name, changing=changing)


def _crash_hook() -> Any:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return None
    step, _, count = spec.partition(":")
    remaining = [int(count) if count else 1]
    lock = threading.Lock()

    def hook(name: str, ami_id: str) -> None:
        if name != step:
            return
        with lock:
            remaining[0] -= 1
            if remaining[0] <= 0:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


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


def build(opts: GlobalOptions, flags: Flags) -> tuple[Services, Settings, pricing.Prices]:
    aws = opts.aws
    aws.check_credentials()
    prices = pricing.Prices.load(flags.prices)
    ssm = _ssm(aws, flags.config)
    run_id = new_run_id()
    svc = services_from_session(
        aws, owner=LeaseOwner(run_id=run_id, host=socket.gethostname(), pid=os.getpid())
    )
    svc.stale_lease = _stale_lease
    hook = _crash_hook()
    if hook is not None:
        svc.after_step = hook
    settings = resolve(flags, ssm, now=svc.clock.now(), run_id=run_id)
    settings = settings.with_(account_id=Sts(aws.client("sts")).account_id())
    return svc, settings, prices


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


def demo_archive(
    aws: AwsSession, *, vault: str, bucket: str, older_than_days: float, console: Console
) -> Report | None:
    """For ``coldvault demo``: plan, archive with live progress, summary; the report (None: nothing to do)."""
    svc = services_from_session(
        aws, owner=LeaseOwner(run_id=new_run_id(), host=socket.gethostname(), pid=os.getpid())
    )
    settings = resolve(
        Flags(vault=vault, bucket=bucket, older_than=str(older_than_days)),
        {},
        now=svc.clock.now(),
        run_id=svc.owner.run_id,
    )
    settings = settings.with_(account_id=Sts(aws.client("sts")).account_id(), min_poll_seconds=0.5)
    preflight(svc, aws, settings, changing=True)
    plan, estimate = make_plan(svc, settings, pricing.Prices())
    render.render_plan(console, plan, estimate)
    report = execute(svc, settings, plan, estimate, console, "live")
    if report is not None:
        render.render_summary(console, report, settings.bucket)
    return report


# -- typer commands --------------------------------------------------------------------------

VaultOpt = Annotated[str | None, typer.Option("--vault", help="Backup vault name.")]
OlderOpt = Annotated[str | None, typer.Option("--older-than", help="Recovery points older than DAYS.")]
BeforeOpt = Annotated[
    str | None,
    typer.Option("--created-before", help="Recovery points created before DATE (ISO 8601, UTC default)."),
]
BucketOpt = Annotated[str | None, typer.Option("--bucket", help="Archive bucket (same Region).")]
ClassOpt = Annotated[
    str | None, typer.Option("--storage-class", help="GLACIER_IR (default), GLACIER or DEEP_ARCHIVE.")
]
UndeletableOpt = Annotated[
    bool | None,
    typer.Option(
        "--include-undeletable/--skip-undeletable", help="Also take points Vault Lock or a legal hold keeps."
    ),
]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="SSM Parameter Store path with the settings.")
]
PricesOpt = Annotated[str | None, typer.Option("--prices", help="JSON file overriding the price table.")]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", help="Points in flight at once (10).")]
MaxGbOpt = Annotated[
    float | None, typer.Option("--max-in-progress-gb", help="Store bytes in progress at most (1200).")
]
QueueOpt = Annotated[str | None, typer.Option("--queue-url", help="SQS queue for status messages.")]
VerifyContentOpt = Annotated[
    bool | None, typer.Option("--verify-content", help="Also stream the stored object and compare checksums.")
]
CopyThresholdOpt = Annotated[
    float | None, typer.Option("--copy-threshold-mb", help="Multipart copy above this size (5120).")
]
PartSizeOpt = Annotated[float | None, typer.Option("--part-size-mb", help="Minimum copy part size (64).")]
PollOpt = Annotated[
    float | None, typer.Option("--poll-min-seconds", help="Shortest interval between store polls (15).")
]
StoreDeadlineOpt = Annotated[
    float | None, typer.Option("--store-deadline-hours", help="Give up on a store task after (48).")
]
QuotaWaitOpt = Annotated[
    float | None, typer.Option("--quota-wait-hours", help="Wait out a store quota refusal for up to (12).")
]
ProgressIntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--progress-interval",
        help="Without a terminal: a progress line (points, bytes, ETA) at least every SECONDS (60).",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _console(opts: GlobalOptions) -> Console:
    return Console(
        stderr=opts.output is OutputFormat.json, quiet=opts.quiet and opts.output is not OutputFormat.json
    )


def _prepare(
    ctx: typer.Context, flags: Flags, *, changing: bool
) -> tuple[GlobalOptions, Services, Settings, Plan, pricing.Estimate]:
    """What ``plan`` and ``archive`` both do first: settings, preflight checks, the plan and its cost."""
    opts = global_options(ctx)
    svc, settings, price_table = build(opts, flags)
    preflight(svc, opts.aws, settings, changing=changing)
    plan, estimate = make_plan(svc, settings, price_table)
    return opts, svc, settings, plan, estimate


def plan_cmd(
    ctx: typer.Context,
    vault: VaultOpt = None,
    older_than: OlderOpt = None,
    created_before: BeforeOpt = None,
    bucket: BucketOpt = None,
    storage_class: ClassOpt = None,
    include_undeletable: UndeletableOpt = None,
    config: ConfigOpt = None,
    prices: PricesOpt = None,
) -> None:
    """Show what would be archived, what is skipped and why, and the cost before and after (read-only)."""
    flags = Flags(
        vault, bucket, older_than, created_before, storage_class, include_undeletable, config, prices
    )
    opts, _, _, plan, estimate = _prepare(ctx, flags, changing=False)
    if opts.output is OutputFormat.json:
        print(json.dumps(render.plan_json(plan, estimate), indent=1))
    else:
        render.render_plan(Console(quiet=opts.quiet), plan, estimate)


def archive_cmd(
    ctx: typer.Context,
    vault: VaultOpt = None,
    older_than: OlderOpt = None,
    created_before: BeforeOpt = None,
    bucket: BucketOpt = None,
    storage_class: ClassOpt = None,
    include_undeletable: UndeletableOpt = None,
    config: ConfigOpt = None,
    prices: PricesOpt = None,
    concurrency: ConcurrencyOpt = None,
    max_in_progress_gb: MaxGbOpt = None,
    queue_url: QueueOpt = None,
    verify_content: VerifyContentOpt = None,
    copy_threshold_mb: CopyThresholdOpt = None,
    part_size_mb: PartSizeOpt = None,
    poll_min_seconds: PollOpt = None,
    store_deadline_hours: StoreDeadlineOpt = None,
    quota_wait_hours: QuotaWaitOpt = None,
    progress_interval: ProgressIntervalOpt = None,
    yes: YesOpt = False,
) -> None:
    """Archive the selected recovery points: store → copy → verify → delete (confirmed) → report."""
    flags = Flags(
        vault, bucket, older_than, created_before, storage_class, include_undeletable, config, prices,
        concurrency, max_in_progress_gb, queue_url, verify_content, copy_threshold_mb, part_size_mb,
        poll_min_seconds, store_deadline_hours, quota_wait_hours,
    )  # fmt: skip
    opts, svc, settings, plan, estimate = _prepare(ctx, flags, changing=True)
    console = _console(opts)
    as_json = opts.output is OutputFormat.json
    if not as_json:
        render.render_plan(console, plan, estimate)
    if plan.candidates and not yes:
        if not sys.stdin.isatty():
            raise UsageError("archive asks for confirmation", hint="pass --yes to run without a terminal")
        typer.confirm(f"Archive {len(plan.candidates)} recovery point(s)?", abort=True)
    mode = "json" if as_json else ("quiet" if opts.quiet else "live")
    if progress_interval is not None:
        settings = settings.with_(progress_seconds=_positive(progress_interval, "--progress-interval"))
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
    app.command("plan")(plan_cmd)
    app.command("archive")(archive_cmd)

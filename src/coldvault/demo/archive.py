"""The demo's archive step: the CLI engine's plan, live progress and summary, on the demo's fleet."""

from __future__ import annotations

import os
import socket

from rich.console import Console

from coldvault import pricing
from coldvault.aws.session import AwsSession
from coldvault.aws.sts import Sts
from coldvault.cli import render
from coldvault.cli.archive_cmd import execute, make_plan, preflight
from coldvault.config import new_run_id
from coldvault.lease import LeaseOwner
from coldvault.pipeline.services import services_from_session
from coldvault.report import Report
from coldvault.settings import resolve


def demo_archive(
    aws: AwsSession, *, vault: str, bucket: str, older_than_days: float, console: Console
) -> Report | None:
    """Plan, archive with live progress, summary; the report (None: nothing to do)."""
    svc = services_from_session(
        aws, owner=LeaseOwner(run_id=new_run_id(), host=socket.gethostname(), pid=os.getpid())
    )
    flags = {"--vault": vault, "--bucket": bucket, "--older-than": str(older_than_days)}
    settings = resolve(flags, {}, path=None, now=svc.clock.now(), run_id=svc.owner.run_id)
    # the sandbox's stores finish in seconds: poll them often
    settings = settings.with_(account_id=Sts(aws.client("sts")).account_id(), min_poll_seconds=0.5)
    preflight(svc, aws, settings, changing=True)
    plan, estimate = make_plan(svc, settings, pricing.Prices())
    render.render_plan(console, plan, estimate)
    report = execute(svc, settings, plan, estimate, console, "live")
    if report is not None:
        render.render_summary(console, report, settings.bucket)
    return report

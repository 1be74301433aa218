"""``coldvault leases``: list the per-point leases, release those whose holder stopped, never a live one
unless forced; and the lease itself: renewed only by its holder, expiring in minutes."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from coldvault import lease
from coldvault.aws.s3 import S3
from coldvault.config import Settings
from tests.integration.test_archive_support import BUCKET, make_bucket, run_inprocess, run_subprocess

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

LIVE, GONE, EXPIRED = "ami-0000000000000000a", "ami-0000000000000000b", "ami-0000000000000000c"
DEAD_PID = 2**22 + 12345  # above pid_max's default: no such process


def _leases() -> S3:
    make_bucket()
    s3 = S3(boto3.client("s3"))
    now = datetime.now(UTC)
    minutes = Settings.lease_seconds
    lease.acquire(s3, BUCKET, LIVE, lease.LeaseOwner("run-live", "other-host", 7), now=now, seconds=minutes)
    here = socket.gethostname()
    lease.acquire(s3, BUCKET, GONE, lease.LeaseOwner("run-gone", here, DEAD_PID), now=now, seconds=minutes)
    old = now - timedelta(hours=1)
    lease.acquire(s3, BUCKET, EXPIRED, lease.LeaseOwner("run-old", "x", 1), now=old, seconds=minutes)
    return s3


def _states(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert run_inprocess(["--output", "json", "leases", "--bucket", BUCKET]) == 0
    doc = json.loads(capsys.readouterr().out)
    return {item["ami_id"]: item["state"] for item in doc["leases"]}


def test_a_lease_is_short_and_only_its_holder_renews_it() -> None:
    assert Settings.lease_seconds <= 3600  # minutes, not days
    assert Settings.lease_seconds > Settings.max_poll_seconds  # outlives the longest wait between cloud steps
    s3 = _leases()
    later = datetime.now(UTC) + timedelta(minutes=10)
    holder, other = lease.LeaseOwner("run-live", "other-host", 7), lease.LeaseOwner("run-x")
    assert lease.renew(s3, BUCKET, LIVE, holder, now=later, seconds=60)
    assert not lease.renew(s3, BUCKET, LIVE, other, now=later, seconds=60)
    (held,) = [h for h in lease.held_leases(s3, BUCKET) if h.ami_id == LIVE]
    assert held.renewed_at == later.isoformat()
    lease.release(s3, BUCKET, LIVE, holder)
    assert not lease.renew(s3, BUCKET, LIVE, holder, now=later, seconds=60)  # never re-created
    assert s3.head(BUCKET, f"leases/{LIVE}.json") is None


def test_leases_lists_and_release_frees_only_what_no_live_run_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _leases()
    assert _states(capsys) == {LIVE: "live", GONE: "holder gone", EXPIRED: "expired"}
    assert run_inprocess(["leases", "--bucket", BUCKET]) == 0
    table = capsys.readouterr().out
    assert LIVE in table
    assert "run-gone" in table
    assert run_inprocess(["leases", "release", "--bucket", BUCKET, "--all", "--yes"]) == 0
    captured = capsys.readouterr()
    assert "Released 2 lease(s)" in captured.out
    assert f"{LIVE}: held by run run-live" in captured.err
    assert _states(capsys) == {LIVE: "live"}
    assert run_inprocess(["leases", "release", "--bucket", BUCKET, LIVE, "--force", "--yes"]) == 0
    assert _states(capsys) == {}


def test_release_asks_for_confirmation_and_names_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    _leases()
    without_terminal = run_subprocess(["leases", "release", "--bucket", BUCKET, "--all"])
    assert without_terminal.returncode == 2
    assert "pass --yes" in without_terminal.stderr
    assert run_inprocess(["leases", "release", "--bucket", BUCKET]) == 2  # neither AMIs nor --all
    assert run_inprocess(["leases", "release", "--bucket", BUCKET, "ami-0000000000000000f", "--yes"]) == 2
    assert "no lease for ami-0000000000000000f" in capsys.readouterr().err
    assert run_inprocess(["leases"]) == 2  # no bucket
    assert len(_states(capsys)) == 3  # nothing changed

"""How a person runs ``coldvault archive`` from cron or CI, and stops it.

- ``archive … --yes > log 2> progress``: the progress lines reach ``progress`` while the run lasts
  (a line per point transition, a heartbeat at ``--progress-interval``), ``log`` holds only the data;
- SIGINT or SIGTERM mid-archive: one line, the report of what finished, exit 130, and no lease left
  behind that would make the deployed state machine report the points as leased.

The store is held back with the sandbox's store rate (1 byte a second) and let go when the test has
seen what it waits for; every wait polls a file or the process with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    archivable_fleet,
    archive_args,
    assert_invariants,
    objects,
    points,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("aws_env")]

HELD_BACK = 1.0  # bytes per second: a store task that does not finish while the test looks
LET_GO = 5e13


def _start(args: list[str], out: IO[str], err: IO[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "coldvault", *args], stdout=out, stderr=err, env=env, text=True
    )


def _wait_for(what: Callable[[], bool], proc: subprocess.Popen[str], seconds: float = 60) -> None:
    """Poll ``what`` until true while ``proc`` still runs; fail at the deadline or if it ended."""
    deadline = time.monotonic() + seconds
    while not what():
        assert proc.poll() is None, f"the run ended ({proc.returncode}) before the awaited moment"
        assert time.monotonic() < deadline, "deadline passed"
        time.sleep(0.1)  # polling a file the subprocess writes, not waiting for AWS


def _leases(bucket: str = BUCKET) -> list[str]:
    return list(objects(bucket, "leases/"))


def test_progress_reaches_stderr_while_it_runs_and_stdout_keeps_the_data(
    admin: SandboxAdmin, tmp_path: Path
) -> None:
    archivable_fleet(admin, instances=2, months=1)
    admin.update_settings(store_bytes_per_second=HELD_BACK)
    log, progress = tmp_path / "log", tmp_path / "progress"
    with log.open("w") as out, progress.open("w") as err:
        proc = _start(archive_args("--progress-interval", "1"), out, err)
        try:
            _wait_for(lambda: progress.read_text().count(" store 0%") >= 2, proc)
            _wait_for(lambda: "progress: 0/2 points" in progress.read_text(), proc)  # the heartbeat
            admin.update_settings(store_bytes_per_second=LET_GO)
            assert proc.wait(timeout=120) == 0, progress.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = progress.read_text().splitlines()
    assert lines[0].endswith("archiving 2 point(s), " + lines[0].rsplit(", ", 1)[1])
    for step in (" store 0%", " copy ", " verify", " archived (1/2)", " archived (2/2)"):
        assert any(step in line for line in lines), (step, lines)
    heartbeat = next(line for line in lines if "progress: " in line)
    assert " of " in heartbeat
    assert "/s" in heartbeat
    assert "ETA " in heartbeat
    assert lines[-1].split(" ", 1)[1].startswith("finished: 2/2 points")
    data = log.read_text()
    assert "Candidates" in data  # the plan and the summary
    assert "archived 2" in data
    assert "store 0%" not in data
    assert "progress:" not in data
    assert_invariants()


def _interrupt(admin: SandboxAdmin, tmp_path: Path, sig: signal.Signals) -> tuple[int, str, str]:
    """Start an archive of 3 points whose stores are held back, send ``sig`` once they are all started."""
    archivable_fleet(admin, instances=3, months=1)
    admin.update_settings(store_bytes_per_second=HELD_BACK)
    log, progress = tmp_path / "log", tmp_path / "progress"
    with log.open("w") as out, progress.open("w") as err:
        proc = _start(archive_args(), out, err)
        try:
            _wait_for(lambda: progress.read_text().count(" store 0%") >= 3, proc)
            assert len(_leases()) == 3  # held while the stores run
            proc.send_signal(sig)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return code, log.read_text(), progress.read_text()


def test_sigint_mid_archive_exits_130_and_releases_the_leases(admin: SandboxAdmin, tmp_path: Path) -> None:
    code, out, err = _interrupt(admin, tmp_path, signal.SIGINT)
    assert code == 130, err[-3000:]
    assert "interrupted: 0 recovery point(s) finished, 3 left for the next run (3 lease(s) released)" in err
    assert "Traceback" not in err
    assert "Run " in out  # the report of what finished (nothing yet), on stdout
    assert _leases() == []
    # The store tasks keep running in EC2; the next run reuses them and finishes.
    admin.update_settings(store_bytes_per_second=LET_GO)
    proc = subprocess.run(
        [sys.executable, "-m", "coldvault", *archive_args()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert points() == {}
    assert_invariants()  # one store task per AMI: the interrupted run's tasks were reused


def test_sigterm_stops_the_same_way_with_json_output(admin: SandboxAdmin, tmp_path: Path) -> None:
    archivable_fleet(admin, instances=1, months=1)
    admin.update_settings(store_bytes_per_second=HELD_BACK)
    log, progress = tmp_path / "log", tmp_path / "progress"
    with log.open("w") as out, progress.open("w") as err:
        proc = _start(["--output", "json", *archive_args()], out, err)
        try:
            _wait_for(lambda: '"step": "storing"' in progress.read_text(), proc)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
    (summary,) = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert summary["interrupted"] is True
    assert summary["exit_code"] == 130
    assert _leases() == []


def test_an_interrupted_run_leaves_nothing_that_blocks_the_deployed_state_machine(
    admin: SandboxAdmin, tmp_path: Path, aws_env: dict[str, str]
) -> None:
    from coldvault.aws.session import AwsSession
    from coldvault.clock import SystemClock
    from coldvault.cloud import deploy

    aws = AwsSession(region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    overrides = {
        "ArchivalBucketName": BUCKET,
        "BackupVaultName": "coldvault-demo",
        "DaysRecoveryPointsCreatedBefore": "2",
    }
    admin.seed(instances=3, daily_days=0, monthly_months=1, unusable=False, ebs_point=False)
    deploy.execute_deploy(aws, deploy.plan_deploy(aws, "sched", overrides, None), SystemClock())
    admin.update_settings(store_bytes_per_second=HELD_BACK)
    log, progress = tmp_path / "log", tmp_path / "progress"
    with log.open("w") as out, progress.open("w") as err:
        proc = _start(archive_args(), out, err)
        try:
            _wait_for(lambda: progress.read_text().count(" store 0%") >= 3, proc)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
    admin.update_settings(store_bytes_per_second=LET_GO)
    outcome = deploy.follow_run(
        aws, deploy.start_run(aws, "sched"), SystemClock(), seconds=300, poll_seconds=0.2
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.counts.get("leased", 0) == 0, outcome.counts
    assert outcome.counts.get("archived") == 3, outcome.counts
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="leases/").get("KeyCount") == 0

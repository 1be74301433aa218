"""A crash (SIGKILL) at each step boundary, then a rerun of the same command that converges.

The crash is ``tests/support/crash_cli.py``: the CLI run with a step observer that SIGKILLs it.
"""

from __future__ import annotations

import signal

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    archivable_fleet,
    archive_args,
    assert_invariants,
    deleted_without_manifest,
    fleet,
    make_bucket,
    manifests,
    points,
    run_subprocess,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("aws_env")]

STEPS = ["store", "stored", "copy_part", "copy", "manifest", "verify", "delete", "deleted", "publish"]


@pytest.mark.parametrize("step", STEPS)
def test_crash_then_rerun_converges(admin: SandboxAdmin, step: str) -> None:
    archivable_fleet(admin, months=2)
    before = points()
    crashed = run_subprocess(archive_args(), crash_after=step)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert deleted_without_manifest(before) == []
    assert_invariants(settled=False)
    rerun = run_subprocess(archive_args())
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert points() == {}
    assert len(manifests()) == 2
    assert_invariants()


def test_crash_in_the_middle_of_a_multipart_copy_resumes_it(admin: SandboxAdmin) -> None:
    fleet(admin, instances=1, daily_days=0, monthly_months=1, unusable=False, ebs_point=False)
    admin.update_settings(size_scale=3e-3)
    make_bucket()
    multipart = ["--copy-threshold-mb", "1", "--part-size-mb", "5"]
    crashed = run_subprocess(archive_args(*multipart), crash_after="copy_part:2")
    assert crashed.returncode == -signal.SIGKILL
    uploads = boto3.client("s3").list_multipart_uploads(Bucket="coldvault-archive").get("Uploads", [])
    assert len(uploads) == 1, "the interrupted upload is there to be resumed"
    assert deleted_without_manifest(points()) == []
    rerun = run_subprocess(archive_args(*multipart))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    (doc,) = manifests().values()
    assert doc["archive"]["checksum_type"] == "FULL_OBJECT"
    assert_invariants()


def test_two_runs_at_once_never_process_one_point_twice(admin: SandboxAdmin) -> None:
    import subprocess
    import sys

    archivable_fleet(admin, instances=3, months=2)
    import os

    env = {**os.environ, "COLUMNS": "200"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "coldvault", *archive_args()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    codes = [r.wait(timeout=180) for r in runs]
    assert all(c in (0, 1) for c in codes), [r.stderr.read() for r in runs if r.stderr]
    assert_invariants(settled=False)  # one store task per AMI: never both
    final = run_subprocess(archive_args())
    assert final.returncode == 0, final.stderr[-3000:]
    assert points() == {}
    assert_invariants()


def test_lease_is_exclusive_expires_and_is_taken_over_from_a_dead_holder(admin: SandboxAdmin) -> None:
    from datetime import UTC, datetime, timedelta

    from coldvault import lease
    from coldvault.aws.s3 import S3
    from coldvault.errors import LeaseHeld

    make_bucket()
    s3 = S3(boto3.client("s3"))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = lease.LeaseOwner("run-a", "h", 1), lease.LeaseOwner("run-b", "h", 2)
    ami = "ami-0123456789abcdef0"
    lease.acquire(s3, "coldvault-archive", ami, a, now=now, seconds=60)
    with pytest.raises(LeaseHeld):
        lease.acquire(s3, "coldvault-archive", ami, b, now=now, seconds=60)
    lease.acquire(s3, "coldvault-archive", ami, a, now=now, seconds=60)  # the holder may renew
    lease.acquire(s3, "coldvault-archive", ami, b, now=now, seconds=60, is_stale=lambda h: h["pid"] == 1)
    with pytest.raises(LeaseHeld):
        lease.acquire(s3, "coldvault-archive", ami, a, now=now, seconds=60)
    lease.release(s3, "coldvault-archive", ami, a)  # not a's any more: left alone
    with pytest.raises(LeaseHeld):
        lease.acquire(s3, "coldvault-archive", ami, a, now=now, seconds=60)
    lease.acquire(s3, "coldvault-archive", ami, a, now=now + timedelta(seconds=61), seconds=60)  # b's expired
    lease.release(s3, "coldvault-archive", ami, a)
    assert s3.head("coldvault-archive", f"leases/{ami}.json") is None

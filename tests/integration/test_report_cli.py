"""`coldvault report` on the sandbox: the reports of real archive and restore runs listed, the latest
shown, one found by run id or unique prefix, JSON as stored, bad input exits 2, and a listing that
reads only the bodies it shows."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from coldvault.aws.s3 import S3
from coldvault.report_view import Kind, ReportReader
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    archivable_fleet,
    archive_args,
    make_bucket,
    objects,
    points,
)
from tests.integration.test_restore_support import count_calls, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


def one_error(err: str) -> bool:
    """One error line, no traceback."""
    return err.startswith("coldvault: error: ") and err.count("\n") == 1 and "Traceback" not in err


def row(out: str, first: str) -> list[str]:
    """The cells of the table row (rich's box drawing) whose text contains ``first``."""
    line = next((line for line in out.splitlines() if first in line and "│" in line), "")
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def report_keys() -> list[str]:
    return sorted(k for k in objects(prefix="logs/") if k.endswith(".json"))


def body(key: str) -> str:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def put_report(key: str, doc: dict[str, Any], **kwargs: Any) -> None:
    """A report as an earlier run would have left it (same bytes as coldvault writes)."""
    data = json.dumps(doc, indent=1, sort_keys=True).encode()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data, **kwargs)


def archive_with_one_failure(admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, str]:
    """A real archive run in which one of two points fails: (run id, failed AMI, archived AMI)."""
    archivable_fleet(admin, months=2)
    bad, good = sorted(a.rsplit("/", 1)[-1] for a in points())
    admin.add_fault("StoreTask", "fail", resources=[bad], times=1, reason="InternalError: injected")
    code, _, err = run_cli(capsys, *archive_args())
    assert code == 1, err
    (key,) = report_keys()
    run_id = json.loads(body(key))["run_id"]
    assert key.endswith(f"-{run_id}.json")
    return run_id, bad, good


def test_latest_by_id_and_prefix_show_a_failed_run_and_exit_0(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, bad, good = archive_with_one_failure(admin, capsys)
    (key,) = report_keys()

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--latest")
    assert code == 0, err  # reading the report of a failed run is not a failure
    assert f"Archive run {run_id}" in out
    assert row(out, bad)[:2] == [bad, "failed"]
    archived = next(i for i in json.loads(body(key))["items"] if i["ami_id"] == good)
    assert row(out, good)[:4] == [good, "archived", archived["archive_key"], "GLACIER_IR"]
    assert "injected" in out
    assert "archived 1, retained 0 (deletion pending), failed 1" in out
    assert f"s3://{BUCKET}/{key}" in out
    assert "The run exited 1" in out

    for ref in (run_id, run_id[:5]):
        code, again, err = run_cli(capsys, "report", "--bucket", BUCKET, ref)
        assert code == 0, err
        assert again == out

    code, out, err = run_cli(capsys, "--output", "json", "report", "--bucket", BUCKET, run_id)
    assert code == 0, err
    assert out.rstrip("\n") == body(key)  # as stored, byte for byte
    assert json.loads(out)["exit_code"] == 1
    code, local, _ = run_cli(capsys, "report", "--bucket", BUCKET, "--latest", "--output", "json")
    assert local == out


def test_list_and_kinds_over_archive_and_restore_runs(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.update_settings(restore_bytes_per_second=1e15, image_available_after_seconds=0)
    archive_run, _, good = archive_with_one_failure(admin, capsys)
    code, out, err = run_cli(
        capsys, "--output", "json", "restore", good, "--bucket", BUCKET, "--yes", "--wait"
    )
    assert code == 0, err
    restored = json.loads(out)
    restore_run = restored["run_id"]
    assert len(report_keys()) == 2

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--list", "5", "--output", "json")
    assert code == 0, err
    rows = {r["run_id"]: r for r in json.loads(out)}
    assert set(rows) == {archive_run, restore_run}
    assert rows[archive_run]["kind"] == "archive"
    assert rows[archive_run]["run_exit_code"] == 1
    assert rows[archive_run]["totals"]["failed"] == 1
    assert rows[archive_run]["totals"]["archived"] == 1
    assert rows[restore_run]["kind"] == "restore"
    assert rows[restore_run]["totals"] == {"restored": 1}
    assert rows[restore_run]["run_exit_code"] == 0
    times = [r["time"] for r in json.loads(out)]
    assert times == sorted(times, reverse=True)

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET)  # no argument: the listing
    assert code == 0, err
    assert row(out, restore_run)[2:] == ["restore", "0", f"restored {good} as {restored['image_id']}"]
    assert row(out, archive_run)[2:] == [
        "archive",
        "1",
        "archived 1, retained 0, failed 1, leased 0, skipped 0",
    ]

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--list", "5", "--kind", "restore")
    assert code == 0, err
    assert restore_run in out
    assert archive_run not in out

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--latest", "--kind", "restore")
    assert code == 0, err
    assert f"Restore run {restore_run}" in out
    assert restored["image_id"] in out
    assert "The run exited 0." in out
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--latest", "--kind", "archive")
    assert code == 0, err
    assert f"Archive run {archive_run}" in out

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, restore_run, "--kind", "archive")
    assert code == 2, err
    assert one_error(err), err
    assert f"run {restore_run} is of kind restore, not archive" in err


def test_prefixes_order_and_listing_reads_only_the_newest(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _, _ = archive_with_one_failure(admin, capsys)
    (real_key,) = report_keys()
    real = json.loads(body(real_key))
    older = {
        "abc123000001": "logs/20250102T030405Z-abc123000001.json",
        "abc123000002": "logs/20250103T030405Z-abc123000002.json",
        "abd000000000": "logs/20250101T000000Z-abd000000000.json",
    }
    for rid, key in older.items():
        put_report(key, {**real, "run_id": rid})
    # The oldest report is in GLACIER: reading its body fails (InvalidObjectState), so a listing of
    # the newest ones works only if it never reads it.
    put_report(
        "logs/20240101T000000Z-cold00000000.json", {**real, "run_id": "cold00000000"}, StorageClass="GLACIER"
    )

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--list", "4", "--output", "json")
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == [run_id, "abc123000002", "abc123000001", "abd000000000"]
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "--list", "5")
    assert code == 0, err  # the fifth newest is the cold one: listed as not readable, not hidden
    assert row(out, "cold00000000")[1:] == [
        "cold00000000",
        "unknown",
        "",
        "not readable: stored in a Glacier class (InvalidObjectState)",
    ]
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "cold0")
    assert code == 1, err
    assert one_error(err), err
    assert "cannot read logs/20240101T000000Z-cold00000000.json: stored in a Glacier class" in err

    reader = ReportReader(S3(boto3.client("s3")), BUCKET)
    refs = reader.refs()
    assert [r.run_id for r in refs] == [
        run_id,
        "abc123000002",
        "abc123000001",
        "abd000000000",
        "cold00000000",
    ]
    reads = count_calls(reader.s3.client, "GetObject")
    assert [r.ref.run_id for r in reader.newest(refs, 2)] == [run_id, "abc123000002"]
    assert len(reads) == 2  # one listing, then the two bodies asked for
    assert [r.ref.run_id for r in reader.newest(refs, 3, Kind.restore)] == []  # reads on to find restores
    assert len(reads) == 2 + 5

    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "abc")
    assert code == 2, err
    assert one_error(err), err
    assert "'abc' matches 2 runs (abc123000001, abc123000002)" in err
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "abc123000001")
    assert code == 0, err
    assert "Archive run abc123000001" in out
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "abd", "--output", "json")
    assert code == 0, err
    assert json.loads(out)["run_id"] == "abd000000000"
    code, out, err = run_cli(capsys, "report", "--bucket", BUCKET, "ffff9999")
    assert code == 2, err
    assert one_error(err), err
    assert "no report for run 'ffff9999'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--latest"], "no archive bucket given"),
        (["report", "--bucket", "no-such-bucket", "--latest"], "bucket 'no-such-bucket' does not exist"),
        (["report", "--bucket", BUCKET, "--latest"], "no report in s3://coldvault-archive/logs/"),
        (["report", "--bucket", BUCKET, "abc", "--latest"], "give a run id or --latest, not both"),
        (["report", "--bucket", BUCKET, "--list", "0"], "--list must be at least 1"),
        (["report", "--bucket", BUCKET, "--list", "x"], "--list must be a whole number"),
        (["report", "--bucket", BUCKET, "--list", "3", "--latest"], "--list lists reports"),
        (["report", "--bucket", BUCKET, "--kind", "backup"], "invalid report kind 'backup'"),
        (["report", "--bucket", BUCKET, "--output", "xml"], "Invalid value for '--output'"),
        (["report", "--bucket", BUCKET, "abc"], "no report for run 'abc'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    make_bucket()
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (out, err)
    assert one_error(err), err
    assert message in err
    assert out == ""


def test_bucket_from_the_config_path_and_an_empty_listing(capsys: pytest.CaptureFixture[str]) -> None:
    make_bucket()
    boto3.client("ssm").put_parameter(Name="/coldvault/test/bucket", Value=BUCKET, Type="String")
    code, out, err = run_cli(capsys, "report", "--config", "/coldvault/test", "--list", "3")
    assert code == 0, err
    assert f"No reports in s3://{BUCKET}/logs/." in out
    code, out, err = run_cli(capsys, "--output", "json", "report", "--config", "/coldvault/test")
    assert code == 0, err
    assert json.loads(out) == []

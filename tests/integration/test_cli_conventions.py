"""The AWS CLI habits, as a user meets them on the sandbox: --query, --output on every command, full ids
in piped tables, --verbose/--debug on stderr, --quiet, global options after the command, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from typing import Any

import boto3
import pytest
import yaml

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    VAULT,
    archivable_fleet,
    archive_args,
    run_subprocess,
)
from tests.integration.test_restore_support import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

PLAN = ["plan", "--vault", VAULT, "--bucket", BUCKET, "--older-than", "2"]


def point_ids() -> set[str]:
    backup = boto3.client("backup")
    pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=VAULT)
    return {p["RecoveryPointArn"].rsplit("/", 1)[1] for page in pages for p in page["RecoveryPoints"]}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_plan_query_prints_just_the_ids(admin: SandboxAdmin) -> None:
    archivable_fleet(admin, instances=3)
    ids = point_ids()
    assert len(ids) == 3
    result = run_subprocess([*PLAN, "--output", "json", "--query", "candidates[].ami_id"])
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)) == sorted(ids)
    result = run_subprocess([*PLAN, "--output", "text", "--query", "candidates[].ami_id"])
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.strip().split("\t")) == sorted(ids)  # one line, tab-separated, like aws


def test_a_piped_table_shows_whole_ids(admin: SandboxAdmin) -> None:
    archivable_fleet(admin, instances=2)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe: rich would assume 80
    result = run_subprocess(PLAN, env=env)
    assert result.returncode == 0, result.stderr
    for ami_id in point_ids():
        assert ami_id in result.stdout
    assert "…" not in result.stdout


def test_every_command_speaks_json_text_and_yaml(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin, instances=2)
    admin.update_settings(image_available_after_seconds=0, restore_bytes_per_second=1e15)
    code, out, err = run_cli(capsys, *archive_args(), "--output", "json")
    assert code == 0, err
    archived = json.loads(out)
    assert archived["totals"]["archived"] == 2
    ami_id = archived["items"][0]["ami_id"]
    commands: list[list[str]] = [
        PLAN,
        archive_args(),  # nothing left to do: still a document
        ["list", "--bucket", BUCKET],
        ["report", "--bucket", BUCKET],
        ["report", "--bucket", BUCKET, "--latest"],
        ["restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"],
    ]
    for args in commands:
        docs: dict[str, Any] = {}
        for fmt in ("json", "yaml", "text"):
            code, out, err = run_cli(capsys, *args, "--output", fmt)
            assert code == 0, (args, fmt, err)
            assert "Traceback" not in out + err
            assert out.strip(), (args, fmt)
            docs[fmt] = out
        as_json, as_yaml = json.loads(docs["json"]), yaml.safe_load(docs["yaml"])
        if args[0] == "plan":  # the cut-off moves with the clock between two runs
            as_json.pop("cutoff")
            as_yaml.pop("cutoff")
        if args[0] == "archive":  # each run has its own id
            assert as_json.pop("run_id") != as_yaml.pop("run_id")
        if args[0] == "restore":  # each run has its own id; the AMI is the one made the first time
            for field in ("run_id", "started_at", "adopted"):
                as_json.pop(field)
                as_yaml.pop(field)
        assert as_yaml == as_json, args
        if args[0] in ("list", "restore", "report") and args[-1] != BUCKET:
            assert ami_id in docs["text"], args


def test_csv_where_the_data_is_a_table(admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    archivable_fleet(admin, instances=2)
    code, out, err = run_cli(capsys, *PLAN, "--output", "csv", "--query", "candidates")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split(",")[:2] == ["recovery_point_arn", "ami_id"]
    assert sorted(r.split(",")[1] for r in rows) == sorted(point_ids())
    code, out, err = run_cli(capsys, *PLAN, "--output", "csv")
    assert code == 2
    assert "--output csv needs a list of records" in err


def test_verbose_and_debug_log_on_stderr_only(admin: SandboxAdmin) -> None:
    archivable_fleet(admin, instances=1)
    quiet = run_subprocess([*PLAN, "--output", "json"])
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    verbose = run_subprocess([*PLAN, "--output", "json", "--verbose"])
    assert verbose.returncode == 0, verbose.stderr
    loud, calm = json.loads(verbose.stdout), json.loads(quiet.stdout)
    # The cut-off and the savings' horizons follow the clock between the two runs; the rest is the same.
    assert loud == {**calm, "cutoff": loud["cutoff"], "savings": loud["savings"]}
    assert [c["ami_id"] for c in loud["savings"]["candidates"]] == [
        c["ami_id"] for c in calm["savings"]["candidates"]
    ]
    assert loud["savings"]["ebs_requests"] == calm["savings"]["ebs_requests"]
    assert re.search(
        rf"coldvault\.aws INFO backup ListRecoveryPointsByBackupVault BackupVaultName={VAULT} -> 200",
        verbose.stderr,
    ), verbose.stderr
    assert "botocore" not in verbose.stderr
    debug = run_subprocess(["--debug", *PLAN, "--output", "json"])
    assert debug.returncode == 0, debug.stderr
    json.loads(debug.stdout)
    assert "coldvault.aws INFO" in debug.stderr
    assert re.search(r"botocore\.\w+ \[DEBUG\] Making request for OperationModel", debug.stderr)


def test_quiet_means_one_result_line_and_nothing_on_stderr(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin, instances=1)
    admin.update_settings(image_available_after_seconds=0, restore_bytes_per_second=1e15)
    code, out, err = run_cli(capsys, *archive_args(), "--quiet")
    assert code == 0, err
    assert err == ""
    assert len(out.splitlines()) == 1
    assert "archived 1" in out
    (row,) = json.loads(run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")[1])
    ami_id = row["ami_id"]
    for args in (
        PLAN,
        archive_args(),
        ["list", "--bucket", BUCKET],
        ["report", "--bucket", BUCKET],
        ["report", "--bucket", BUCKET, "--latest"],
        ["restore", ami_id, "--bucket", BUCKET, "--yes", "--wait"],
    ):
        code, out, err = run_cli(capsys, *args, "--quiet")
        assert code == 0, (args, err)
        assert err == "", args
        assert len(out.splitlines()) == 1, (args, out)


def test_global_options_after_the_command_reach_aws(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin, instances=1)
    code, _, err = run_cli(capsys, *PLAN, "--region", "eu-west-1")
    assert code == 2, err  # the vault is in us-east-1: nothing found in eu-west-1
    assert "eu-west-1" in err or VAULT in err
    code, _, err = run_cli(capsys, *PLAN, "--profile", "no-such-profile")
    assert code == 2, err
    assert "AWS profile 'no-such-profile' not found" in err


def test_an_unreachable_endpoint_exits_3(admin: SandboxAdmin) -> None:
    archivable_fleet(admin, instances=1)
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_subprocess([*PLAN, "--endpoint-url", url], env={"AWS_MAX_ATTEMPTS": "1"})
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("coldvault: error: ")
    assert result.stderr.count("\n") == 1
    assert url in result.stderr
    assert "Traceback" not in result.stderr


def test_no_color_means_no_colour_codes(admin: SandboxAdmin) -> None:
    archivable_fleet(admin, instances=1)
    result = run_subprocess([*PLAN, "--no-color"], env={"FORCE_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert not re.search(r"\x1b\[(3|4|9|10)\d(;\d+)*m", result.stdout)


def test_the_sandbox_prints_its_document_too() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "coldvault", "sandbox", "--port", "0", "--no-seed", "--output", "text"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509 - resets one signal disposition, no locks
    )
    assert process.stdout is not None
    timer = threading.Timer(60, process.kill)  # a deadline for start-up, not a wait
    timer.start()
    try:
        first = process.stdout.readline()  # text: the scalars on one line, keys sorted
        admin_api, endpoint = first.rstrip("\n").split("\t")[:2]
        assert admin_api == f"{endpoint}/_coldvault/"
        with urllib.request.urlopen(f"{admin_api}clock", timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert err == "sandbox stopped\n"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)

"""``coldvault deploy`` as a SAM user runs it, against the sandbox: the change set shown before anything
changes, ``--no-execute-changeset``, the stack's events streamed, an unchanged stack a success,
``--guided`` and its config file, and no terminal without ``--yes`` refused."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import boto3
import pytest

from tests.integration.test_archive_support import run_inprocess, run_subprocess

pytestmark = [
    pytest.mark.cloud,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.usefixtures("aws_env"),
]

BASE = ["ArchivalBucketName=deploy-archive", "BackupVaultName=deploy-vault"]


def _deploy(*args: str) -> int:
    return run_inprocess(["deploy", "--stack-name", "cv", *args])


def _stack() -> dict[str, object]:
    return boto3.client("cloudformation").describe_stacks(StackName="cv")["Stacks"][0]


def _parameters() -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in _stack()["Parameters"]}  # type: ignore[attr-defined]


def test_change_set_shown_then_executed_then_nothing_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _deploy("--parameter-overrides", *BASE, "--no-execute-changeset") == 0
    shown = capsys.readouterr().out
    assert "Create stack cv: parameters" in shown
    assert "ArchiveStorageClass" in shown  # a default, shown with where it comes from
    assert "GLACIER_IR" in shown
    assert "Add" in shown
    assert "AWS::StepFunctions::StateMachine" in shown
    assert "Change set created, not executed" in shown
    assert _stack()["StackStatus"] == "REVIEW_IN_PROGRESS"  # nothing created yet
    assert "deploy-archive" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]

    assert _deploy("--parameter-overrides", *BASE, "--yes") == 0
    shown = capsys.readouterr().out
    assert "Stack events (cv):" in shown
    events = [line for line in shown.splitlines() if line.startswith("  ") and "_COMPLETE" in line]
    assert events[-1].split()[1] == "CREATE_COMPLETE"  # oldest first: the stack's own last
    assert "StateMachineArn" in shown
    assert _stack()["StackStatus"] == "CREATE_COMPLETE"

    assert (
        _deploy("--parameter-overrides", *BASE, "ArchiveStorageClass=DEEP_ARCHIVE", "--no-execute-changeset")
        == 0
    )
    shown = capsys.readouterr().out
    assert "Modify" in shown
    assert "StorageClassParameter" in shown
    assert _parameters()["ArchiveStorageClass"] == "GLACIER_IR"  # unchanged: the change set was not run

    assert _deploy("--yes") == 0  # the stack's current values are kept: nothing changes
    assert "Stack cv is up to date: no changes to deploy." in capsys.readouterr().out


def test_without_a_terminal_deploy_needs_yes_and_changes_nothing() -> None:
    result = run_subprocess(["deploy", "--stack-name", "cv", "--parameter-overrides", *BASE])
    assert result.returncode == 2, result.stderr
    assert "pass --yes" in result.stderr
    assert "Traceback" not in result.stderr
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    assert [s for s in stacks if s["StackName"] == "cv"] == []


def test_bad_overrides_are_refused_before_anything_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert _deploy("--parameter-overrides", *BASE, "ArchiveStorageClass=COLD", "--yes") == 2
    assert "ArchiveStorageClass='COLD' must be one of" in capsys.readouterr().err
    assert boto3.client("s3").list_buckets()["Buckets"] == []  # not even the artifact bucket


class _Terminal(io.StringIO):
    """Typed answers on a terminal's stdin (the prompts read ``sys.stdin``)."""

    def isatty(self) -> bool:
        return True


def test_guided_asks_saves_and_the_next_deploy_reads_the_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coldvault.cloud.packaging import packaged_template
    from coldvault.cloud.parameters import SET_BY_DEPLOY, template_parameters

    monkeypatch.chdir(tmp_path)
    asked = sorted(n for n in template_parameters(packaged_template()) if n not in SET_BY_DEPLOY)
    answers = {"ArchivalBucketName": "guided-archive", "BackupVaultName": "guided-vault"}
    typed = ["guided"] + [answers.get(name, "") for name in asked] + ["y", "y"]  # name, params, save, deploy
    monkeypatch.setattr(sys, "stdin", _Terminal("\n".join(typed) + "\n"))
    assert run_inprocess(["deploy", "--guided"]) == 0
    shown = capsys.readouterr().out
    assert "Parameter BackupVaultName" in shown
    assert "Parameter ArchiveStorageClass (GLACIER_IR|GLACIER|DEEP_ARCHIVE) [GLACIER_IR]" in shown
    saved = (tmp_path / "coldvault.toml").read_text()
    assert 'default_stack = "guided"' in saved
    assert 'BackupVaultName = "guided-vault"' in saved
    stack = boto3.client("cloudformation").describe_stacks(StackName="guided")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    monkeypatch.setattr(sys, "stdin", _Terminal(""))
    assert run_inprocess(["deploy", "--yes"]) == 0  # the stack and its answers come from coldvault.toml
    assert "Stack guided is up to date: no changes to deploy." in capsys.readouterr().out

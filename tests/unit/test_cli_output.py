"""The CLI's conventions that need no AWS: output formats, --help, completion, usage errors, retries.

The text format is checked against the AWS CLI's own formatter (``awscli.text``, a dev dependency)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from awscli.text import format_text

from coldvault.aws.session import AwsSession
from coldvault.cli import formats
from coldvault.cli.app import command, main
from coldvault.errors import ConfigurationError, UsageError

PLAN_LIKE: dict[str, Any] = {
    "cutoff": "2026-09-03T15:58:21+00:00",
    "listed": 64,
    "candidates": [
        {"ami_id": "ami-fc8d40e3ec4a45a17", "backup_size_bytes": 515396075520, "resume_deletion": False},
        {"ami_id": "ami-f8ce3a7f85dcde273", "backup_size_bytes": 8589934592, "note": None},
    ],
    "skipped": [],
    "estimate": {"storage_class": "GLACIER_IR", "points": [{"ami_id": "ami-1", "costs_more": True}]},
    "warnings": ["one", "two"],
}
DOCUMENTS: list[Any] = [
    PLAN_LIKE,
    PLAN_LIKE["candidates"],
    ["ami-1", "ami-2"],
    [["a", "b"], "c", ["d"]],
    "ami-fc8d40e3ec4a45a17",
    {"nested": {"deeper": {"x": [1, 2]}, "y": True}, "z": None},
    [],
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_text_output_is_the_aws_cli_text_format(doc: Any) -> None:
    expected = io.StringIO()
    format_text(doc, expected)
    assert formats.to_text(doc) == expected.getvalue()


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_yaml_and_json_give_back_the_document(doc: Any) -> None:
    assert yaml.safe_load(formats.to_yaml(doc)) == doc
    assert json.loads(formats.to_json(doc)) == doc


def test_yaml_keeps_long_ids_and_the_document_order_on_one_line() -> None:
    key = "recovery-points/123456789012/us-east-1/i-0123456789abcdef0/2026/08/20/" + "x" * 200 + ".bin"
    text = formats.to_yaml({"zeta": 1, "archive_key": key})
    assert text.splitlines() == ["zeta: 1", f"archive_key: {key}"]


def test_csv_is_for_lists_of_records() -> None:
    text = formats.to_csv(PLAN_LIKE["candidates"])
    assert text.splitlines() == [
        "ami_id,backup_size_bytes,resume_deletion,note",
        "ami-fc8d40e3ec4a45a17,515396075520,False,",
        "ami-f8ce3a7f85dcde273,8589934592,,",
    ]
    assert formats.to_csv(["ami-1", "ami-2"]) == "ami-1\nami-2\n"
    with pytest.raises(UsageError, match="--output csv needs a list of records"):
        formats.to_csv(PLAN_LIKE)


def test_every_command_has_an_example_the_global_options_and_flags_without_a_type(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    names = sorted(command().commands)
    assert {
        "plan",
        "archive",
        "list",
        "restore",
        "report",
        "package",
        "deploy",
        "run",
        "sandbox",
        "demo",
    } <= set(names)
    for name in names:
        code, out, _ = run(capsys, name, "--help")
        assert code == 0, name
        assert "Examples:" in out, name
        assert f"coldvault {name}" in out.split("Examples:", 1)[1], name
        for option in (
            "--region",
            "--profile",
            "--endpoint-url",
            "--output",
            "--query",
            "--quiet",
            "--verbose",
        ):
            assert option in out, (name, option)
        assert "--debug" in out, name
        assert "--no-color" in out, name
        assert "<bool>" not in out, name  # a flag takes no value, so its help shows none


def test_shell_completion_is_on(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "coldvault", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shown.returncode == 0, shown.stderr
    assert "_COLDVAULT_COMPLETE" in shown.stdout
    completing = subprocess.run(
        [sys.executable, "-m", "coldvault"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "_COLDVAULT_COMPLETE": "complete_bash",
            "COMP_WORDS": "coldvault plan --out",
            "COMP_CWORD": "2",
        },
    )
    assert "--output" in completing.stdout.split()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--bogus"], "No such option: --bogus"),
        (["plna"], "No such command 'plna'"),
        (["package", "--output", "xml"], "Invalid value for '--output'"),
        (["--output", "xml", "package"], "Invalid value for '--output'"),
        (["package", "--query", "zip[["], "invalid --query 'zip[['"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, *(["--out-dir", str(tmp_path)] if args[-1] != "plna" else []))
    assert code == 2, err
    assert out == ""
    assert err.startswith("coldvault: error: "), err
    assert err.count("\n") == 1, err
    assert message in err
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_global_options_before_or_after_the_command_and_after_wins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_OUTPUT", raising=False)
    out_dir = str(tmp_path / "dist")
    code, after, _ = run(capsys, "package", "--out-dir", out_dir, "--output", "json", "--query", "zip")
    assert code == 0
    code, before, _ = run(capsys, "--output", "json", "--query", "zip", "package", "--out-dir", out_dir)
    assert code == 0
    assert json.loads(after) == json.loads(before) == str(Path(out_dir) / Path(json.loads(after)).name)
    code, both, _ = run(capsys, "--output", "json", "package", "--out-dir", out_dir, "--output", "yaml")
    assert code == 0
    assert yaml.safe_load(both)["zip"] == json.loads(after)


def test_output_defaults_to_aws_default_output_then_the_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\noutput = text\n[profile ops]\noutput = yaml\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_OUTPUT", raising=False)
    args = ["package", "--out-dir", str(tmp_path / "dist"), "--query", "{key: artifact_key}"]
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.startswith("coldvault/lambda-")  # text: the bare value
    code, out, _ = run(capsys, *args, "--profile", "ops")
    assert code == 0
    assert out.startswith("key: coldvault/lambda-")  # yaml
    monkeypatch.setenv("AWS_DEFAULT_OUTPUT", "json")
    code, out, _ = run(capsys, *args, "--profile", "ops")
    assert code == 0
    assert json.loads(out)["key"].startswith("coldvault/lambda-")
    code, out, _ = run(capsys, *args, "--output", "text")
    assert code == 0
    assert out.startswith("coldvault/lambda-")
    monkeypatch.setenv("AWS_DEFAULT_OUTPUT", "xml")
    code, out, err = run(capsys, *args)
    assert code == 2
    assert "invalid output format 'xml' in AWS_DEFAULT_OUTPUT" in err


def test_package_prints_commands_that_can_be_pasted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # narrower than the commands: still one line each
    code, out, _ = run(capsys, "package", "--out-dir", str(tmp_path), "--output", "table")
    assert code == 0
    code, doc, _ = run(capsys, "package", "--out-dir", str(tmp_path), "--output", "json")
    commands = json.loads(doc)["commands"]
    lines = out.splitlines()
    for line in commands:
        assert line in lines
        assert "…" not in line
    assert json.loads(doc)["sha256"] in out  # whole, not cut


@pytest.fixture
def retry_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return config


def retries(**session: Any) -> dict[str, Any]:
    client = AwsSession(region="us-east-1", **session).client("s3")
    return dict(client.meta.config.retries)


def test_coldvault_retries_only_when_the_user_set_none(
    retry_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert retries() == {"mode": "standard", "total_max_attempts": 9}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    assert retries() == {"mode": "standard", "total_max_attempts": 3}
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert retries() == {"mode": "adaptive", "total_max_attempts": 3}
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    assert retries()["mode"] == "adaptive"
    assert "total_max_attempts" not in retries()  # botocore's own default for that mode


def test_the_profiles_retry_settings_are_honoured(retry_env: Path) -> None:
    retry_env.write_text("[profile slow]\nretry_mode = legacy\nmax_attempts = 2\n")
    assert retries(profile="slow") == {"mode": "legacy", "total_max_attempts": 2}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("AWS_RETRY_MODE", "eager", "unknown retry mode 'eager'"), ("AWS_MAX_ATTEMPTS", "many", "max attempts")],
)
def test_bad_retry_settings_are_named(
    retry_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        retries()

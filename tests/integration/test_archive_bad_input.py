"""Bad input and unsafe resources: one line naming the problem and the fix, exit 2, nothing changed."""

from __future__ import annotations

import os

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import (
    BUCKET,
    VAULT,
    archivable_fleet,
    fleet,
    make_bucket,
    objects,
    points,
    run_inprocess,
    store_task_counts,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

BASE = ["archive", "--yes", "--vault", VAULT, "--bucket", BUCKET]

CASES = {
    "unknown vault": (
        ["archive", "--yes", "--vault", "nope", "--bucket", BUCKET, "--older-than", "1"],
        "vault 'nope'",
    ),
    "missing bucket": (
        ["archive", "--yes", "--vault", VAULT, "--bucket", "nope-bucket", "--older-than", "1"],
        "does not exist",
    ),
    "bad class": (
        [*BASE, "--older-than", "1", "--storage-class", "STANDARD"],
        "--storage-class must be one of",
    ),
    "negative days": ([*BASE, "--older-than", "-3"], "--older-than"),
    "non-numeric days": ([*BASE, "--older-than", "ten"], "--older-than"),
    "both selectors": ([*BASE, "--older-than", "3", "--created-before", "2026-01-01"], "exactly one"),
    "no selector": (BASE, "exactly one"),
    "bad date": ([*BASE, "--created-before", "yesterday"], "ISO 8601"),
    "missing queue": (
        [*BASE, "--older-than", "1", "--queue-url", "http://localhost/123456789012/none"],
        "queue",
    ),
    "bad config path": ([*BASE, "--older-than", "1", "--config", "/coldvault/none"], "no parameters"),
    "missing prices file": (
        [*BASE, "--older-than", "1", "--prices", "/nonexistent/coldvault-prices.json"],
        "cannot read price file",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    fleet(admin, instances=1, daily_days=0, monthly_months=1)
    make_bucket()
    before = points()
    args, expected = CASES[case]
    assert run_inprocess(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert expected in err
    assert "(" in err  # the fix is named
    assert objects() == {}
    assert store_task_counts() == {}
    assert points() == before


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("concurrency", "abc", "SSM parameter /coldvault/bad/concurrency must be a whole number at least 1"),
        ("storage-class", "FOO", "SSM parameter /coldvault/bad/storage-class must be one of GLACIER_IR"),
        (
            "include-undeletable",
            "perhaps",
            "SSM parameter /coldvault/bad/include-undeletable must be true or",
        ),
    ],
)
def test_a_bad_ssm_value_under_config_exits_2_with_one_line_and_changes_nothing(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], key: str, value: str, expected: str
) -> None:
    """The keys the stack writes, one of them bad: the same error the state machine's run fails with."""
    archivable_fleet(admin, months=1)
    before = points()
    ssm = boto3.client("ssm")
    for name, text in (("vault", VAULT), ("bucket", BUCKET), ("older-than-days", "1"), (key, value)):
        ssm.put_parameter(Name=f"/coldvault/bad/{name}", Value=text, Type="String", Overwrite=True)
    assert run_inprocess(["archive", "--yes", "--config", "/coldvault/bad"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert expected in err
    assert f"not '{value}'" in err
    assert "(redeploy with" in err or "(aws ssm put-parameter --overwrite" in err
    assert objects() == {}
    assert store_task_counts() == {}
    assert points() == before


@pytest.mark.parametrize("problem", ["public", "unencrypted", "other region"])
def test_unsafe_bucket_is_refused_before_any_change(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    fleet(admin, instances=1, daily_days=0, monthly_months=1)
    name = "unsafe-bucket"
    make_bucket(
        name,
        private=problem != "public",
        encrypted=problem != "unencrypted",
        region="eu-west-1" if problem == "other region" else "us-east-1",
    )
    assert run_inprocess(["archive", "--yes", "--vault", VAULT, "--bucket", name, "--older-than", "1"]) == 2
    err = capsys.readouterr().err
    assert {"public": "public access", "unencrypted": "encryption", "other region": "eu-west-1"}[
        problem
    ] in err
    assert objects(name) == {}
    assert store_task_counts() == {}


def test_no_credentials(admin: SandboxAdmin, tmp_path: os.PathLike[str]) -> None:
    fleet(admin, instances=1, daily_days=0, monthly_months=1)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k in {"AWS_ENDPOINT_URL", "AWS_REGION"}
    }
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path) + "/none",
        "AWS_CONFIG_FILE": str(tmp_path) + "/none",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = run_subprocess_clean([*BASE, "--older-than", "1"], env)
    assert result.returncode == 2
    assert "no AWS credentials" in result.stderr


def run_subprocess_clean(args: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "coldvault", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ssm_config_supplies_settings_and_flags_win(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    archivable_fleet(admin)
    ssm = boto3.client("ssm")
    for key, value in {
        "vault": VAULT,
        "bucket": BUCKET,
        "older-than-days": "2",
        "storage-class": "GLACIER",
    }.items():
        ssm.put_parameter(Name=f"/coldvault/test/{key}", Value=value, Type="String")
    assert run_inprocess(["--output", "json", "plan", "--config", "/coldvault/test"]) == 0
    import json

    plan = json.loads(capsys.readouterr().out)
    assert plan["estimate"]["storage_class"] == "GLACIER"
    assert len(plan["candidates"]) == 1
    assert (
        run_inprocess(
            ["--output", "json", "plan", "--config", "/coldvault/test", "--storage-class", "DEEP_ARCHIVE"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["estimate"]["storage_class"] == "DEEP_ARCHIVE"

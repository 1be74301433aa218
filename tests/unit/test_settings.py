"""The one settings table and its resolver: precedence, checks, the two engines' differences, and the
table held against ``Settings`` and ``docs/configuration.md`` (the template: tests/cloud/test_template.py)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coldvault.config import GB, MIB, Settings
from coldvault.errors import ConfigurationError
from coldvault.models import StorageClass
from coldvault.settings import resolve
from coldvault.settings_table import ROWS, RUN_FIELDS, markdown, settings_rows

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BASE = {"vault": "v-ssm", "bucket": "b-ssm"}


def cli(flags: dict[str, str | bool | None], ssm: dict[str, str] | None = None) -> Settings:
    return resolve(flags, ssm or {}, path="/coldvault/p", now=NOW, run_id="r")


def cloud(ssm: dict[str, str]) -> Settings:
    return resolve({}, ssm, path="/coldvault/p", now=NOW, run_id="r", cli=False)


def test_every_settings_field_has_a_row_and_every_row_a_field() -> None:
    configured = {r.field for r in settings_rows()}
    assert configured | RUN_FIELDS == {f.name for f in fields(Settings)}
    assert not configured & RUN_FIELDS


def test_flags_ssm_keys_and_parameters_are_unique() -> None:
    for column in ("flag", "ssm", "parameter"):
        names = [getattr(r, column) for r in ROWS if getattr(r, column)]
        assert len(names) == len(set(names)), column


def test_settings_defaults_are_the_table_defaults() -> None:
    defaults = {f.name: f.default for f in fields(Settings) if f.default is not MISSING}
    for row in settings_rows():
        if row.default is None or not row.cli_default:
            assert row.field not in defaults or defaults[row.field] is None, row.field
            continue
        assert row.parse(row.default, NOW) == defaults[row.field], row.field


def test_the_documentation_shows_the_table() -> None:
    assert markdown() in DOC.read_text(), "regenerate it: python -m coldvault.settings_table"


def test_flags_win_over_ssm_keys_which_win_over_defaults() -> None:
    ssm = {**BASE, "storage-class": "DEEP_ARCHIVE", "older-than-days": "30", "concurrency": "4"}
    s = cli({"--vault": "v-flag", "--concurrency": "6"}, ssm)
    assert (s.vault, s.bucket, s.storage_class, s.concurrency) == (
        "v-flag",
        "b-ssm",
        StorageClass.DEEP_ARCHIVE,
        6,
    )
    assert s.cutoff == NOW - timedelta(days=30)
    assert s.copy_threshold_bytes == 5120 * MIB  # the default
    s = cli({"--created-before": "2026-01-01", "--storage-class": "glacier"}, ssm)
    assert s.cutoff == datetime(2026, 1, 1, tzinfo=UTC)
    assert s.storage_class is StorageClass.GLACIER
    s = cli({"--verify-content": False, "--include-undeletable": True}, {**ssm, "verify-content": "true"})
    assert (s.verify_content, s.include_undeletable) == (False, True)


def test_both_engines_read_the_same_keys_the_same_way() -> None:
    ssm = {
        **BASE,
        "older-than-days": "7",
        "copy-threshold-mb": "5",
        "part-size-mb": "8",
        "copy-concurrency": "2",
        "max-in-progress-gb": "1.5",
        "poll-min-seconds": "1",
        "store-deadline-hours": "2",
        "include-undeletable": "TRUE",
        "items-per-execution": "4",
    }
    assert cli({}, ssm) == cloud(ssm)
    s = cloud(ssm)
    assert (s.copy_threshold_bytes, s.part_size_bytes, s.copy_concurrency) == (5 * MIB, 8 * MIB, 2)
    assert (s.max_in_progress_bytes, s.store_deadline_seconds, s.items_per_execution) == (
        int(1.5 * GB),
        7200,
        4,
    )
    assert s.include_undeletable is True


def test_the_age_defaults_in_the_cloud_only() -> None:
    assert cloud(BASE).cutoff == NOW - timedelta(days=90)  # the row's default, the template's
    with pytest.raises(ConfigurationError, match="exactly one of --older-than DAYS or --created-before DATE"):
        cli({}, BASE)
    with pytest.raises(ConfigurationError, match="exactly one"):
        cli({"--older-than": "1", "--created-before": "2026-01-01"}, BASE)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("concurrency", "abc", "must be a whole number at least 1"),
        ("concurrency", "2.5", "whole number"),
        ("storage-class", "FOO", "must be one of GLACIER_IR, GLACIER, DEEP_ARCHIVE"),
        ("older-than-days", "-1", "at least 0"),
        ("older-than-days", "nan", "a number"),
        ("verify-content", "maybe", "true or false"),
        ("max-in-progress-gb", "0", "above 0"),
        ("items-per-execution", "251", "at most 250"),
        ("bucket", "My_Bucket", "an S3 bucket name"),
    ],
)
def test_a_bad_ssm_value_is_a_named_configuration_error_in_both_engines(
    key: str, value: str, says: str
) -> None:
    ssm = {**BASE, "older-than-days": "1", key: value}
    for engine in (lambda: cli({}, ssm), lambda: cloud(ssm)):
        with pytest.raises(ConfigurationError) as caught:
            engine()
        line = caught.value.one_line()
        assert line.startswith(f"SSM parameter /coldvault/p/{key} must be"), line
        assert says in line
        assert repr(value) in line
        assert "--overwrite --name /coldvault/p/" in str(caught.value.hint)
        assert "\n" not in line


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--concurrency", "0", "--concurrency must be a whole number at least 1, not '0'"),
        ("--older-than", "ten", "--older-than must be a number"),
        ("--created-before", "31/01/2026", "--created-before must be an ISO 8601 date"),
        ("--storage-class", "STANDARD", "--storage-class must be one of"),
    ],
)
def test_a_bad_flag_names_the_flag_and_an_example(flag: str, value: str, says: str) -> None:
    flags = {"--older-than": "1", flag: value} if flag != "--created-before" else {flag: value}
    with pytest.raises(ConfigurationError) as caught:
        cli(flags, BASE)
    assert caught.value.one_line().startswith(says)
    assert str(caught.value.hint).startswith(f"for example {flag} ")


def test_missing_required_values_name_the_flag_or_the_ssm_parameter() -> None:
    with pytest.raises(ConfigurationError) as caught:
        cli({"--bucket": "b", "--older-than": "1"})
    assert caught.value.one_line() == "no backup vault given (pass --vault NAME or --config /ssm/path)"
    with pytest.raises(ConfigurationError, match="SSM parameter /coldvault/p/bucket is missing"):
        cloud({"vault": "Default"})


def test_plan_and_archive_take_the_rows_flags() -> None:
    from typer.testing import CliRunner

    from coldvault.cli.app import app

    runner = CliRunner()
    for command, rows in (
        ("archive", [r for r in ROWS if r.flag]),
        ("plan", [r for r in ROWS if r.flag and r.plan]),
    ):
        shown = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"}).output
        for row in rows:
            assert str(row.flag) in shown, (command, row.flag)
    assert "--concurrency" not in runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "250"}).output

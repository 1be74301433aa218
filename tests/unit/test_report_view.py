"""Pure parts of reading reports back: which keys are reports, their order, finding a run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coldvault import keys
from coldvault.errors import UsageError
from coldvault.report_view import Kind, LoadedReport, find_run, newest_first, parse_kind, parse_report_key


def test_report_keys_round_trip_and_other_objects_are_not_reports() -> None:
    started = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    ref = parse_report_key(keys.report_key(started, "0eec91cc19c4", "json"))
    assert ref is not None
    assert (ref.time, ref.run_id) == (started, "0eec91cc19c4")
    assert ref.csv_key == keys.report_key(started, "0eec91cc19c4", "csv")
    for other in (
        keys.report_key(started, "0eec91cc19c4", "csv"),
        "logs/readme.json",
        "logs/20261399T000000Z-abc.json",  # not a date
        "runs/abc/plan.json",
    ):
        assert parse_report_key(other) is None


def test_newest_first_orders_by_key_time_then_run_id() -> None:
    refs = newest_first(
        [
            "logs/20260101T000000Z-bbb.json",
            "logs/20260102T000000Z-aaa.json",
            "logs/20260101T000000Z-ccc.json",
            "logs/20260102T000000Z-aaa.csv",
        ]
    )
    assert [r.run_id for r in refs] == ["aaa", "ccc", "bbb"]


def test_find_run_exact_wins_then_unique_prefix_else_usage_error() -> None:
    refs = newest_first(
        [
            "logs/20260101T000000Z-abc.json",
            "logs/20260102T000000Z-abcd.json",
            "logs/20260103T000000Z-abce.json",
            "logs/20260104T000000Z-abcd.json",  # the same run reported again: the newest counts
        ]
    )
    assert find_run(refs, "abc").key == "logs/20260101T000000Z-abc.json"  # exact, though also a prefix
    assert find_run(refs, "abcd").key == "logs/20260104T000000Z-abcd.json"
    assert find_run(refs, "abce").run_id == "abce"
    with pytest.raises(UsageError, match=r"'ab' matches 3 runs \(abc, abcd, abce\)"):
        find_run(refs, "ab")
    with pytest.raises(UsageError, match="no report for run 'x'"):
        find_run(refs, "x")
    with pytest.raises(UsageError, match="empty run id"):
        find_run(refs, " ")


def test_kind_from_the_schema_and_exit_codes() -> None:
    (ref,) = newest_first(["logs/20260101T000000Z-abc.json"])
    archive = LoadedReport(ref, "", {"schema": "coldvault.report/1", "exit_code": 1, "totals": {"failed": 1}})
    restore = LoadedReport(
        ref, "", {"schema": "coldvault.restore-report/1", "kind": "restore", "items": [{"outcome": "failed"}]}
    )
    other = LoadedReport(ref, "[]", None)
    assert (archive.kind, archive.run_exit_code, archive.totals()) == (Kind.archive, 1, {"failed": 1})
    assert (restore.kind, restore.run_exit_code, restore.totals()) == (Kind.restore, 1, {"failed": 1})
    assert other.kind is None
    assert parse_kind(" Restore ") is Kind.restore
    with pytest.raises(UsageError) as caught:
        parse_kind("backup")
    assert caught.value.one_line() == "invalid report kind 'backup' (use --kind archive|restore)"

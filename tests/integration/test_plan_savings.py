"""plan shows the money: exact freed bytes and break-even per candidate, the policies, the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import BUCKET, make_bucket
from tests.integration.test_restore_support import run_cli
from tests.support.browser import render as open_in_chromium

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

VAULT = "coldvault-demo"


def test_plan_select_monthly_gives_exact_freed_bytes_and_break_even_for_every_candidate(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    admin.seed(instances=2, daily_days=10, monthly_months=3, unusable=False, ebs_point=False)
    make_bucket(BUCKET)
    page = tmp_path / "plan.html"
    code, out, err = run_cli(
        capsys,
        "plan",
        "--vault",
        VAULT,
        "--older-than",
        "3",
        "--bucket",
        BUCKET,
        "--select",
        "monthly",
        "--only-if-saves",
        "--storage-class",
        "DEEP_ARCHIVE",
        "--output",
        "json",
        "--html",
        str(page),
    )
    assert code == 0, err
    doc = json.loads(out)
    savings = doc["savings"]
    assert savings["method"] == "ebs-direct"
    assert savings["ebs_requests"] > 0
    measured = {c["ami_id"]: c for c in savings["candidates"]}
    assert measured
    for candidate in measured.values():
        assert isinstance(candidate["freed_bytes"], int)
        assert candidate["archive_bytes_estimate"] > 0
        assert "monthly_saving_usd" in candidate
        assert "break_even_days" in candidate
        assert candidate["decision"] in {"archive", "keep"}
        assert candidate["reason"]
    # Candidates to archive are exactly those decided so; the others are skipped with the figures.
    assert {c["ami_id"] for c in doc["candidates"]} == {
        a for a, c in measured.items() if c["decision"] == "archive"
    }
    kept = [
        s for s in doc["skipped"] if s["reason"] == "archiving would cost more than keeping (--only-if-saves)"
    ]
    assert {s["ami_id"] for s in kept} == {a for a, c in measured.items() if c["decision"] == "keep"}
    # Daily points of a month that is not over stay: not the last point of their period.
    not_last = [s for s in doc["skipped"] if s["reason"].startswith("not the last point")]
    assert not_last
    assert all("is the last point of" in s["detail"] for s in not_last)
    dom = open_in_chromium(page, tmp_path / "plan.png")
    assert dom.count("<polyline") == 3
    assert all(ami in dom for ami in measured)


def test_plan_falls_back_to_a_labelled_range_when_ebs_direct_apis_are_denied(
    admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.seed(instances=1, daily_days=2, monthly_months=1, unusable=False, ebs_point=False)
    make_bucket(BUCKET)
    admin.add_fault("ListSnapshotBlocks", "access_denied")
    admin.add_fault("ListChangedBlocks", "access_denied")
    code, out, err = run_cli(
        capsys, "plan", "--vault", VAULT, "--older-than", "1", "--bucket", BUCKET, "--output", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["savings"]["method"] == "range"
    assert "AccessDenied" in doc["savings"]["fallback_reason"]
    assert all(c["freed_bytes"] is None for c in doc["savings"]["candidates"])
    assert any("range" in w for w in doc["warnings"])

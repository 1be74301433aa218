"""`coldvault audit` on the sandbox: every archive's chain of custody, checked against S3 and AWS
Backup; exit 1 on an inconsistency; the HTML page in a real browser."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from coldvault import keys, manifest, restore_evidence
from coldvault.aws.s3 import S3
from coldvault.aws.session import AwsSession
from coldvault.restore_evidence import RestoreTest
from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    make_bucket,
    run_cli,
    seeded_point,
)
from tests.support.browser import png_size
from tests.support.browser import render as open_in_chromium

pytestmark = pytest.mark.integration
BUCKET = "archive-audit"


def _archives(admin: SandboxAdmin) -> list[tuple[str, str]]:
    make_bucket(BUCKET)
    made = []
    for name, size, age, cls in (("web", 8, 40, "GLACIER_IR"), ("db", 16, 100, "DEEP_ARCHIVE")):
        point = seeded_point(admin, tags={"Name": name}, volumes=[("/dev/xvda", size, False)], age_days=age)
        made.append(archive_point(admin, BUCKET, cls, point["RecoveryPointArn"]))
    return made


def _record_restore_test(ami: str) -> None:
    s3 = S3(AwsSession(region=REGION).client("s3"))
    restore_evidence.write(
        s3,
        BUCKET,
        RestoreTest(ami_id=ami, at=datetime.now(UTC), succeeded=True, region=REGION, bucket=BUCKET),
    )


def test_audit_reports_the_chain_of_custody_and_flags_a_removed_manifest(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    (web_ami, web_key), (db_ami, _) = _archives(admin)

    code, out, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json")
    assert code == 1, err  # no restore test yet
    doc = json.loads(out)
    assert [f["kind"] for f in doc["findings"]] == ["no_restore_test"]

    _record_restore_test(db_ami)
    code, out, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["ok"]
    assert doc["findings"] == []
    rows = {a["ami_id"]: a for a in doc["archives"]}
    assert set(rows) == {web_ami, db_ami}
    web = rows[web_ami]
    assert web["archive_key"] == web_key
    assert web["storage_class"] == web["s3_storage_class"] == "GLACIER_IR"
    assert web["size_bytes"] == web["s3_size_bytes"] > 0
    assert web["recovery_point_arn"].endswith(web_ami)
    assert web["vault"]
    assert web["instance_id"].startswith("i-")
    assert web["store_started_at"]
    assert web["store_completed_at"]
    assert web["verified_at"]
    assert web["store_started_at"] <= web["store_completed_at"] <= web["verified_at"]
    assert "CRC64NVME" in web["verified_by"]
    assert web["deletion_state"] == "confirmed"
    assert web["deletion_confirmed_at"]
    assert web["recovery_point_now"] in ("gone", "DELETING")
    assert web["lock_mode"] is None  # this bucket has no Object Lock
    assert [t["succeeded"] for t in rows[db_ami]["restore_tests"]] == [True]
    # read-only and cheap: one HeadObject per archive, one DescribeRecoveryPoint per deleted point
    assert doc["api_calls"]["HeadObject"] == 2
    assert doc["api_calls"]["DescribeRecoveryPoint"] == 2
    assert doc["api_calls"]["ListObjectsV2"] == 3

    code, out, _ = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "csv")
    assert code == 0
    assert {r["ami_id"] for r in csv.DictReader(io.StringIO(out))} == {web_ami, db_ami}

    since = rows[web_ami]["created"][:10]
    code, out, _ = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json", "--since", since)
    assert [a["ami_id"] for a in json.loads(out)["archives"]] == [web_ami]

    # a lock policy this bucket cannot meet is flagged
    code, out, _ = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json", "--retain-days", "180")
    assert code == 1
    assert {f["kind"] for f in json.loads(out)["findings"]} == {"lock_shorter"}

    # a manifest removed by hand: the archive has no manifest any more
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=keys.manifest_key(web_ami))
    code, out, err = run_cli(capsys, "audit", "--bucket", BUCKET)
    assert code == 1
    assert "archive without manifest" in out
    assert web_key in out


def test_audit_flags_a_point_still_in_the_vault_and_a_missing_archive(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    (web_ami, web_key), (db_ami, _) = _archives(admin)
    _record_restore_test(web_ami)
    s3 = S3(AwsSession(region=REGION).client("s3"))
    # a point the catalogue says is deleted, put back in the vault
    db = manifest.read(s3, BUCKET, keys.manifest_key(db_ami))
    assert db is not None
    fake = seeded_point(admin, tags={"Name": "again"}, volumes=[("/dev/xvda", 8, False)])
    point = replace(db.recovery_point, arn=fake["RecoveryPointArn"])
    s3.put_json(BUCKET, db.key, replace(db, recovery_point=point).to_json())
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=web_key)

    code, out, _ = run_cli(capsys, "audit", "--bucket", BUCKET, "--output", "json")
    assert code == 1
    found = {(f["kind"], f["subject"]) for f in json.loads(out)["findings"]}
    assert found == {("point_still_in_vault", db_ami), ("manifest_without_archive", web_ami)}


def test_audit_html_page_in_a_real_browser(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (web_ami, _), (db_ami, _) = _archives(admin)
    _record_restore_test(web_ami)
    page = tmp_path / "audit.html"
    code, _, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--html", str(page))
    assert code == 0, err
    shot = tmp_path / "audit.png"
    dom = open_in_chromium(page, shot)
    for chart in ("archives per month", "bytes per class", "lock coverage"):
        assert f'aria-label="{chart}"' in dom
    assert web_ami in dom
    assert db_ami in dom
    assert "no inconsistency found" in dom
    assert "http" not in page.read_text().replace("http://www.w3.org", "")
    assert png_size(shot) == (1100, 1400)
    assert shot.stat().st_size > 20_000


def test_audit_bad_input_exits_2(aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--retention-mode", "forever")
    assert code == 2
    assert "retention mode" in err
    code, _, err = run_cli(capsys, "audit", "--bucket", BUCKET, "--since", "yesterday-ish")
    assert code == 2
    code, _, err = run_cli(capsys, "audit")
    assert code == 2
    assert "--bucket" in err

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from coldvault import keys
from coldvault.config import Settings
from coldvault.models import Outcome, PointWork, RecoveryPoint
from coldvault.pipeline import status_message
from coldvault.report import Report

amis = st.from_regex(r"ami-[0-9a-f]{17}", fullmatch=True)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"])


def point(
    ami: str, account: str = "123456789012", region: str = "us-east-1", created: datetime | None = None
) -> RecoveryPoint:
    return RecoveryPoint(
        arn=f"arn:aws:ec2:{region}::image/{ami}",
        vault_name="v",
        resource_arn=f"arn:aws:ec2:{region}:{account}:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=created or datetime(2026, 1, 1, tzinfo=UTC),
        backup_size_bytes=100,
    )


@given(amis, amis, accounts, regions)
def test_keys_are_distinct_per_ami_and_parse_back(a: str, b: str, account: str, region: str) -> None:
    pa, pb = point(a, account, region), point(b, account, region)
    assert keys.archive_key(pa).startswith(f"recovery-points/{account}/{region}/i-0abc/")
    assert keys.archive_key(pa).endswith(f"/{a}.bin")
    assert keys.is_ami_id(keys.staging_key(a).removesuffix(".bin"))
    assert not keys.is_ami_id(keys.archive_key(pa))
    if a != b:
        for f in (keys.manifest_key, keys.lease_key, keys.pending_deletion_key, keys.staging_key):
            assert f(a) != f(b)
        assert keys.archive_key(pa) != keys.archive_key(pb)
        assert keys.recovery_point_pointer_key(pa.arn) != keys.recovery_point_pointer_key(pb.arn)
    assert keys.pending_deletion_key(a).startswith(keys.CATALOG_PREFIX)


@given(
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=9))])
    )
)
def test_report_key_is_utc(started: datetime) -> None:
    key = keys.report_key(started, "run1", "json")
    assert key == f"logs/{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-run1.json"


def test_status_message_and_report() -> None:
    settings = Settings(vault="v", bucket="b", cutoff=datetime(2026, 1, 1, tzinfo=UTC), run_id="r1")
    p = point("ami-0123456789abcdef0")
    ok = PointWork(
        point=p,
        archive_key="k",
        manifest_key="m",
        outcome=Outcome.ARCHIVED,
        archive_size=5,
        timings={"copy": 1.0},
    )
    bad = PointWork(
        point=point("ami-0123456789abcdef1"),
        archive_key="k2",
        manifest_key="m2",
        outcome=Outcome.FAILED,
        error="boom",
    )
    m_ok, m_bad = status_message(settings, ok), status_message(settings, bad)
    assert m_ok["schema"] == "coldvault.result/1"
    assert m_ok["run_id"] == "r1"
    assert m_ok["archive_key"] == "k"
    assert m_bad["archive_key"] == ""
    assert m_bad["error"] == "boom"
    assert keys.result_key("r1", p.ami_id) == f"runs/r1/results/{p.ami_id}.json"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = Report(run_id="r1", started=now, finished=now, settings={}, items=[m_ok])
    assert report.exit_code == 0
    assert report.totals()["archived_bytes"] == 5
    report.items.append(m_bad)
    assert report.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["outcome"] for r in rows] == ["archived", "failed"]
    assert rows[1]["reason"] == "boom"

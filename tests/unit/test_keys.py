from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from coldvault import keys
from coldvault.models import RecoveryPoint


def _point(created: datetime, account: str = "123456789012", region: str = "eu-west-1") -> RecoveryPoint:
    return RecoveryPoint(
        arn=f"arn:aws:ec2:{region}::image/ami-0123456789abcdef0",
        vault_name="v",
        resource_arn=f"arn:aws:ec2:{region}:{account}:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=created,
    )


def test_archive_key_uses_source_instance_account_region_and_utc_date() -> None:
    created = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=5)))  # 2026-02-28 20:30 UTC
    key = keys.archive_key(_point(created))
    assert key == "recovery-points/123456789012/eu-west-1/i-0abc/2026/02/28/ami-0123456789abcdef0.bin"


@given(st.datetimes(timezones=st.just(UTC)))
def test_archive_key_date_is_the_creation_date(created: datetime) -> None:
    key = keys.archive_key(_point(created))
    parts = key.split("/")
    assert parts[:4] == ["recovery-points", "123456789012", "eu-west-1", "i-0abc"]
    assert (int(parts[4]), int(parts[5]), int(parts[6])) == (created.year, created.month, created.day)
    assert parts[7] == "ami-0123456789abcdef0.bin"


def test_staging_key_is_at_bucket_root() -> None:
    assert keys.staging_key("ami-0123456789abcdef0") == "ami-0123456789abcdef0.bin"

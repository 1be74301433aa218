"""The sandbox's RestoreObject over HTTP with boto3: a restore is in progress for the tier's duration of
sandbox time, a second request meanwhile is refused with RestoreAlreadyInProgress (409), a request on a
restored object extends its expiry (200), the temporary copy expires, and tiers AWS refuses are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

BUCKET = "restore-objects"
HOUR = 3600.0


@pytest.fixture
def s3(aws_env: dict[str, str]) -> Any:
    client = boto3.client("s3", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3: Any, key: str, storage_class: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"archived bytes", StorageClass=storage_class)


def restore(s3: Any, key: str, tier: str = "Standard", days: int = 2) -> int:
    response = s3.restore_object(
        Bucket=BUCKET, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}
    )
    assert shape_errors("s3", "RestoreObject", response) == []
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


def restore_header(s3: Any, key: str) -> str | None:
    response = s3.head_object(Bucket=BUCKET, Key=key)
    assert shape_errors("s3", "HeadObject", response) == []
    value = response.get("Restore")
    return None if value is None else str(value)


def refused(s3: Any, key: str, tier: str = "Standard", days: int = 2) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        restore(s3, key, tier, days)
    error = caught.value.response
    return str(error["Error"]["Code"]), int(error["ResponseMetadata"]["HTTPStatusCode"])


def expiry_of(header: str) -> datetime:
    return parsedate_to_datetime(header.split('expiry-date="', 1)[1].rstrip('"'))


def now(admin: SandboxAdmin) -> datetime:
    return datetime.fromisoformat(admin.clock()["now"])


def next_midnight(moment: datetime) -> datetime:
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def test_default_restores_complete_at_once(admin: SandboxAdmin, s3: Any) -> None:
    put(s3, "a.bin", "GLACIER")
    assert restore_header(s3, "a.bin") is None
    assert restore(s3, "a.bin") == 202
    header = restore_header(s3, "a.bin")
    assert header is not None
    assert header.startswith('ongoing-request="false", expiry-date="')
    assert s3.get_object(Bucket=BUCKET, Key="a.bin")["Body"].read() == b"archived bytes"
    assert restore(s3, "a.bin") == 200


def test_restore_stays_in_progress_for_the_tier_then_is_readable_until_expiry(
    admin: SandboxAdmin, s3: Any
) -> None:
    admin.update_settings(glacier_restore_scale=1.0)
    put(s3, "db.bin", "GLACIER")
    requested = now(admin)
    assert restore(s3, "db.bin", "Standard", days=3) == 202

    assert restore_header(s3, "db.bin") == 'ongoing-request="true"'
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="db.bin")
    assert caught.value.response["Error"]["Code"] == "InvalidObjectState"
    # A second request while the first runs: refused as AWS does, with 409.
    assert refused(s3, "db.bin", "Standard") == ("RestoreAlreadyInProgress", 409)
    assert refused(s3, "db.bin", "Bulk") == ("RestoreAlreadyInProgress", 409)

    admin.advance_clock(5 * HOUR - 60)
    assert restore_header(s3, "db.bin") == 'ongoing-request="true"'
    admin.advance_clock(120)
    header = restore_header(s3, "db.bin")
    assert header is not None
    assert header.startswith('ongoing-request="false", expiry-date="')
    expiry = expiry_of(header)
    completed = requested + timedelta(hours=5)
    assert expiry == next_midnight(completed + timedelta(days=3)).replace(microsecond=0)
    assert s3.get_object(Bucket=BUCKET, Key="db.bin")["Body"].read() == b"archived bytes"
    s3.copy_object(Bucket=BUCKET, Key="copy.bin", CopySource={"Bucket": BUCKET, "Key": "db.bin"})
    assert restore_header(s3, "copy.bin") is None  # a copy is a new STANDARD object

    # After the expiry the temporary copy is gone: unreadable again, and a new restore starts.
    admin.advance_clock((expiry - now(admin)).total_seconds() + 1)
    assert restore_header(s3, "db.bin") is None
    with pytest.raises(ClientError):
        s3.get_object(Bucket=BUCKET, Key="db.bin")
    assert restore(s3, "db.bin", "Expedited") == 202
    assert restore_header(s3, "db.bin") == 'ongoing-request="true"'
    admin.advance_clock(5 * 60 + 1)
    assert (
        restore_header(
            s3,
            "db.bin",
        )
        is not None
    )


def test_a_request_on_a_restored_object_extends_its_expiry(admin: SandboxAdmin, s3: Any) -> None:
    admin.update_settings(glacier_restore_scale=1.0)
    put(s3, "web.bin", "GLACIER")
    assert restore(s3, "web.bin", "Expedited", days=1) == 202
    admin.advance_clock(10 * 60)
    first = restore_header(s3, "web.bin")
    assert first is not None
    assert 'ongoing-request="false"' in first

    admin.advance_clock(12 * HOUR)
    assert restore(s3, "web.bin", "Bulk", days=7) == 200  # no new restore: the copy is kept longer
    second = restore_header(s3, "web.bin")
    assert second is not None
    assert 'ongoing-request="false"' in second
    assert expiry_of(second) == next_midnight(now(admin) + timedelta(days=7)).replace(microsecond=0)
    assert expiry_of(second) > expiry_of(first)


def test_deep_archive_durations_and_no_expedited(admin: SandboxAdmin, s3: Any) -> None:
    admin.update_settings(glacier_restore_scale=0.5)
    put(s3, "deep.bin", "DEEP_ARCHIVE")
    assert refused(s3, "deep.bin", "Expedited") == ("InvalidArgument", 400)
    assert restore_header(s3, "deep.bin") is None  # the refused request changed nothing
    assert restore(s3, "deep.bin", "Bulk") == 202
    admin.advance_clock(24 * HOUR - 60)  # 48 h x 0.5
    assert restore_header(s3, "deep.bin") == 'ongoing-request="true"'
    admin.advance_clock(120)
    header = restore_header(s3, "deep.bin")
    assert header is not None
    assert 'ongoing-request="false"' in header


def test_a_faster_tier_upgrades_a_restore_in_progress(admin: SandboxAdmin, s3: Any) -> None:
    admin.update_settings(glacier_restore_scale=1.0)
    put(s3, "slow.bin", "GLACIER")
    assert restore(s3, "slow.bin", "Bulk") == 202
    admin.advance_clock(HOUR)
    assert restore(s3, "slow.bin", "Expedited") == 202  # a restore speed upgrade
    admin.advance_clock(5 * 60 + 1)
    header = restore_header(s3, "slow.bin")
    assert header is not None
    assert 'ongoing-request="false"' in header


@pytest.mark.parametrize("storage_class", ["STANDARD", "GLACIER_IR"])
def test_classes_read_at_once_cannot_be_restored(admin: SandboxAdmin, s3: Any, storage_class: str) -> None:
    put(s3, "hot.bin", storage_class)
    assert refused(s3, "hot.bin") == ("InvalidObjectState", 403)


def test_missing_object_and_injected_fault(admin: SandboxAdmin, s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        restore(s3, "absent.bin")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    put(s3, "x.bin", "GLACIER")
    admin.add_fault("RestoreObject", "access_denied", times=1)
    assert refused(s3, "x.bin") == ("AccessDenied", 403)
    assert restore(s3, "x.bin") == 202


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_tags_and_metadata_of_an_archived_object_are_readable_without_a_restore(
    s3: Any, storage_class: str
) -> None:
    """S3 refuses only the object's data (GetObject) before a restore; HeadObject, GetObjectTagging,
    PutObjectTagging and GetObjectAcl answer for an object in any storage class (moto refuses the
    tagging and ACL reads with InvalidObjectState)."""
    s3.put_object(
        Bucket=BUCKET,
        Key="cold.bin",
        Body=b"archived bytes",
        StorageClass=storage_class,
        Tagging="coldvault%3Aami=ami-0123",
        Metadata={"ami-name": "web"},
    )
    head = s3.head_object(Bucket=BUCKET, Key="cold.bin")
    assert shape_errors("s3", "HeadObject", head) == []
    assert (head["StorageClass"], head["Metadata"]) == (storage_class, {"ami-name": "web"})
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="cold.bin")
    assert shape_errors("s3", "GetObjectTagging", tags) == []
    assert tags["TagSet"] == [{"Key": "coldvault:ami", "Value": "ami-0123"}]
    s3.put_object_tagging(
        Bucket=BUCKET, Key="cold.bin", Tagging={"TagSet": [{"Key": "state", "Value": "verified"}]}
    )
    assert s3.get_object_tagging(Bucket=BUCKET, Key="cold.bin")["TagSet"] == [
        {"Key": "state", "Value": "verified"}
    ]
    assert s3.get_object_acl(Bucket=BUCKET, Key="cold.bin")["Grants"]
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="cold.bin")
    assert caught.value.response["Error"]["Code"] == "InvalidObjectState"

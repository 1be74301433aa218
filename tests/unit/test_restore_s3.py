"""The S3 side of a restore: the Restore header (RestoreObject's answers are tested against the sandbox
in tests/integration/test_restore_glacier.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from coldvault.aws.s3_glacier import RestoreStatus, parse_restore_header


def test_restore_header_states() -> None:
    assert parse_restore_header("GLACIER", None) == (RestoreStatus.NONE, None)
    assert parse_restore_header("DEEP_ARCHIVE", 'ongoing-request="true"') == (RestoreStatus.IN_PROGRESS, None)
    status, expiry = parse_restore_header(
        "GLACIER", 'ongoing-request="false", expiry-date="Fri, 27 Nov 2026 00:00:00 GMT"'
    )
    assert status is RestoreStatus.READABLE
    assert expiry == datetime(2026, 11, 27, tzinfo=UTC)
    assert parse_restore_header("GLACIER_IR", None) == (RestoreStatus.READABLE, None)
    assert parse_restore_header("STANDARD", None) == (RestoreStatus.READABLE, None)

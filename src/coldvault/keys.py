"""Where things live in the archive bucket (pure functions, no I/O).

Layout::

    <ami-id>.bin                                                         staging, written by EC2
    recovery-points/<account>/<region>/<instance-id>/<yyyy>/<mm>/<dd>/<ami-id>.bin   the archive
    catalog/ami/<ami-id>.json                                            the manifest (hot, STANDARD)
    catalog/by-recovery-point/<sha256(arn)>.json                         pointer -> manifest key
    catalog/by-archive-key/<sha256(key)>.json                            pointer -> manifest key
    catalog/pending-deletion/<ami-id>.json                               archived, deletion not confirmed
    leases/<ami-id>.json                                                 per-point lease
    logs/<yyyymmddThhmmssZ>-<run-id>.{json,csv}                          consolidated reports

The archive key's date is the recovery point's creation date in UTC; account and Region are the
source instance's (from the recovery point's ``ResourceArn``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from coldvault.models import RecoveryPoint

ARCHIVE_PREFIX = "recovery-points/"
CATALOG_PREFIX = "catalog/"
LEASE_PREFIX = "leases/"
LOG_PREFIX = "logs/"
PENDING_DELETION_PREFIX = CATALOG_PREFIX + "pending-deletion/"

# The tag CreateStoreImageTask puts on the staging object (S3ObjectTags). The template's lifecycle
# rule "expire-staging-leftovers" filters on exactly this tag; the archive copy replaces the tags, so
# an archive never carries it.
STAGING_TAG_KEY = "coldvault:stage"
STAGING_TAG_VALUE = "staging"

_AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")


def is_ami_id(value: str) -> bool:
    return bool(_AMI_RE.match(value))


def staging_key(ami_id: str) -> str:
    """The key ``CreateStoreImageTask`` always writes: ``<ami-id>.bin`` at the bucket root."""
    return f"{ami_id}.bin"


def archive_key(point: RecoveryPoint) -> str:
    created = point.creation_date.astimezone(UTC)
    return (
        f"{ARCHIVE_PREFIX}{point.source_account}/{point.source_region}/{point.instance_id}/"
        f"{created:%Y}/{created:%m}/{created:%d}/{point.ami_id}.bin"
    )


def manifest_key(ami_id: str) -> str:
    return f"{CATALOG_PREFIX}ami/{ami_id}.json"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def recovery_point_pointer_key(recovery_point_arn: str) -> str:
    return f"{CATALOG_PREFIX}by-recovery-point/{_digest(recovery_point_arn)}.json"


def archive_pointer_key(key: str) -> str:
    return f"{CATALOG_PREFIX}by-archive-key/{_digest(key)}.json"


def pending_deletion_key(ami_id: str) -> str:
    """A marker present from verification until the recovery point's deletion is confirmed."""
    return f"{PENDING_DELETION_PREFIX}{ami_id}.json"


def lease_key(ami_id: str) -> str:
    return f"{LEASE_PREFIX}{ami_id}.json"


def report_key(started: datetime, run_id: str, extension: str) -> str:
    return f"{LOG_PREFIX}{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{run_id}.{extension}"

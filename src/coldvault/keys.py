"""Where things live in the archive bucket: every key coldvault reads or writes is built (and parsed
back) here and nowhere else (``tests/unit/test_keys.py`` checks that no other module spells a prefix).
Pure functions, no I/O.

Layout::

    <ami-id>.bin                                                         staging, written by EC2
    recovery-points/<account>/<region>/<instance-id>/<yyyy>/<mm>/<dd>/<ami-id>.bin   the archive
    catalog/ami/<ami-id>.json                                            the manifest (hot, STANDARD)
    catalog/by-recovery-point/<sha256(arn)>.json                         pointer -> manifest key
    catalog/by-archive-key/<sha256(key)>.json                            pointer -> manifest key
    catalog/pending-deletion/<ami-id>.json                               archived, deletion not confirmed
    catalog/restore-tests/<ami-id>/<yyyymmddThhmmssZ>.json               one restore test's evidence
    leases/<ami-id>.json                                                 per-point lease
    logs/<yyyymmddThhmmssZ>-<run-id>.{json,csv}                          consolidated reports
    runs/<run-id>/plan.json                                              skipped points and estimate
    runs/<run-id>/candidates.json                                        a deployed run's selected points
    runs/<run-id>/work/<ami-id>.json                                     one point's work (deployed runs)
    runs/<run-id>/results/<ami-id>.json                                  one point's result

The archive key's date is the recovery point's creation date in UTC; account and Region are the
source instance's (from the recovery point's ``ResourceArn``). The staging key is EC2's choice
(``CreateStoreImageTask`` always writes ``<ami-id>.bin`` at the bucket root), not ours.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from coldvault.models import RecoveryPoint

ARCHIVE_PREFIX = "recovery-points/"
CATALOG_PREFIX = "catalog/"
MANIFEST_PREFIX = CATALOG_PREFIX + "ami/"
RECOVERY_POINT_POINTER_PREFIX = CATALOG_PREFIX + "by-recovery-point/"
ARCHIVE_POINTER_PREFIX = CATALOG_PREFIX + "by-archive-key/"
PENDING_DELETION_PREFIX = CATALOG_PREFIX + "pending-deletion/"
RESTORE_TEST_PREFIX = CATALOG_PREFIX + "restore-tests/"
LEASE_PREFIX = "leases/"
LOG_PREFIX = "logs/"
RUNS_PREFIX = "runs/"

_JSON = ".json"
_BIN = ".bin"
_REPORT_TIME = "%Y%m%dT%H%M%SZ"

# The tag CreateStoreImageTask puts on the staging object (S3ObjectTags). The template's lifecycle
# rule "expire-staging-leftovers" filters on exactly this tag; the archive copy replaces the tags, so
# an archive never carries it.
STAGING_TAG_KEY = "coldvault:stage"
STAGING_TAG_VALUE = "staging"

_AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")
_REPORT_RE = re.compile(rf"^{re.escape(LOG_PREFIX)}(\d{{8}}T\d{{6}}Z)-(.+)\.json$")


def is_ami_id(value: str) -> bool:
    return bool(_AMI_RE.match(value))


def staging_key(ami_id: str) -> str:
    """The key ``CreateStoreImageTask`` always writes: ``<ami-id>.bin`` at the bucket root."""
    return f"{ami_id}{_BIN}"


def archive_key(point: RecoveryPoint) -> str:
    created = point.creation_date.astimezone(UTC)
    return (
        f"{ARCHIVE_PREFIX}{point.source_account}/{point.source_region}/{point.instance_id}/"
        f"{created:%Y}/{created:%m}/{created:%d}/{point.ami_id}{_BIN}"
    )


_ARCHIVE_RE = re.compile(
    rf"^{re.escape(ARCHIVE_PREFIX)}(\d{{12}})/([a-z0-9-]+)/([^/]+)/(\d{{4}})/(\d{{2}})/(\d{{2}})/(ami-[0-9a-f]+){re.escape(_BIN)}$"
)


def parse_archive_key(key: str) -> tuple[str, datetime, str] | None:
    """(instance id, creation day at 00:00 UTC, AMI id) of an archive key; None for any other key."""
    match = _ARCHIVE_RE.match(key)
    if match is None:
        return None
    _account, _region, instance, year, month, day, ami = match.groups()
    return instance, datetime(int(year), int(month), int(day), tzinfo=UTC), ami


def looks_like_archive_key(ref: str) -> bool:
    """Whether a user's reference names an object (an archive key, or a staging key) rather than an id."""
    return ref.startswith(ARCHIVE_PREFIX) or ref.endswith(_BIN)


def _ami_under(prefix: str, key: str) -> str | None:
    """The ``<ami-id>`` of ``<prefix><ami-id>.json``; None for any other key."""
    if not (key.startswith(prefix) and key.endswith(_JSON)):
        return None
    ami = key[len(prefix) : -len(_JSON)]
    return ami if ami and "/" not in ami else None


def manifest_key(ami_id: str) -> str:
    return f"{MANIFEST_PREFIX}{ami_id}{_JSON}"


def ami_of_manifest_key(key: str) -> str | None:
    """The AMI id a manifest key names (listing the catalogue); None for any other key."""
    return _ami_under(MANIFEST_PREFIX, key)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def recovery_point_pointer_key(recovery_point_arn: str) -> str:
    return f"{RECOVERY_POINT_POINTER_PREFIX}{_digest(recovery_point_arn)}{_JSON}"


def archive_pointer_key(key: str) -> str:
    return f"{ARCHIVE_POINTER_PREFIX}{_digest(key)}{_JSON}"


def pending_deletion_key(ami_id: str) -> str:
    """A marker present from verification until the recovery point's deletion is confirmed."""
    return f"{PENDING_DELETION_PREFIX}{ami_id}{_JSON}"


def ami_of_pending_deletion_key(key: str) -> str | None:
    return _ami_under(PENDING_DELETION_PREFIX, key)


def restore_test_key(ami_id: str, at: datetime) -> str:
    """One restore test of the archive of ``ami_id`` (the evidence the audit reads)."""
    return f"{RESTORE_TEST_PREFIX}{ami_id}/{at.astimezone(UTC):{_REPORT_TIME}}{_JSON}"


def ami_of_restore_test_key(key: str) -> str | None:
    """The AMI id a restore-test record key names; None for any other key."""
    if not (key.startswith(RESTORE_TEST_PREFIX) and key.endswith(_JSON)):
        return None
    ami, _, name = key[len(RESTORE_TEST_PREFIX) :].partition("/")
    return ami if is_ami_id(ami) and name and "/" not in name else None


def is_archive_key(key: str) -> bool:
    """Whether a listed key is in the archive layout (:func:`archive_key`)."""
    return key.startswith(ARCHIVE_PREFIX) and key.endswith(_BIN)


def lease_key(ami_id: str) -> str:
    return f"{LEASE_PREFIX}{ami_id}{_JSON}"


def report_key(started: datetime, run_id: str, extension: str) -> str:
    return f"{LOG_PREFIX}{started.astimezone(UTC):{_REPORT_TIME}}-{run_id}.{extension}"


def parse_report_key(key: str) -> tuple[datetime, str] | None:
    """``(started, run_id)`` of a JSON report key (:func:`report_key`); None for any other key."""
    match = _REPORT_RE.match(key)
    if not match:
        return None
    try:
        started = datetime.strptime(match.group(1), _REPORT_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None
    return started, match.group(2)


def run_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/"


def plan_key(run_id: str) -> str:
    """The skipped points and the estimate, written when a run starts (the report reads it)."""
    return f"{run_prefix(run_id)}plan{_JSON}"


def candidates_key(run_id: str) -> str:
    """A deployed run's settings, start time and selected points."""
    return f"{run_prefix(run_id)}candidates{_JSON}"


def work_key(run_id: str, ami_id: str) -> str:
    """One point's work object of a deployed run (written when its batch starts)."""
    return f"{run_prefix(run_id)}work/{ami_id}{_JSON}"


def results_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}results/"


def result_key(run_id: str, ami_id: str) -> str:
    """One point's result (the publish step writes it; the report reads them all)."""
    return f"{results_prefix(run_id)}{ami_id}{_JSON}"

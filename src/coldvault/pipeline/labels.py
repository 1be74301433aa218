"""The archive object's metadata (EC2's plus ours, within S3's 2 KB) and its tags (at most 10)."""

from __future__ import annotations

from datetime import UTC

from coldvault.keys import STAGING_TAG_KEY
from coldvault.models import PointWork
from coldvault.pipeline.common import SOURCE_ARN_META

METADATA_LIMIT = 2048
MAX_TAGS = 10
TAG_KEY_LIMIT = 128
TAG_VALUE_LIMIT = 256


def metadata_size(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())


def archive_metadata(work: PointWork, ec2_metadata: dict[str, str], staging_size: int) -> dict[str, str]:
    """Ours first (they are what verify and restore rely on), then EC2's, trimmed to fit 2 KB."""
    point = work.point
    ours = {
        SOURCE_ARN_META: point.arn,
        "coldvault-vault": point.vault_name,
        "coldvault-instance-id": point.instance_id,
        "coldvault-created": point.creation_date.astimezone(UTC).isoformat(),
        "coldvault-backup-size": str(point.backup_size_bytes),
        "coldvault-stored-size": str(staging_size),
    }
    merged = dict(ours)
    budget = METADATA_LIMIT - metadata_size(ours)
    # Shortest values first so a long description is the one that gets trimmed.
    for key, value in sorted(ec2_metadata.items(), key=lambda kv: len(kv[1])):
        if key in merged:
            continue
        room = budget - len(key.encode())
        if room <= 0:
            continue
        encoded = value.encode()[:room].decode(errors="ignore")
        merged[key] = encoded
        budget -= len(key.encode()) + len(encoded.encode())
    return merged


def archive_tags(work: PointWork) -> dict[str, str]:
    """A few tags chosen for lifecycle rules and search; no ``aws:`` keys; the full set is in the manifest."""
    point = work.point
    tags = {
        "coldvault:vault": point.vault_name,
        "coldvault:account": point.source_account,
        "coldvault:region": point.source_region,
        "coldvault:instance-id": point.instance_id,
        "coldvault:created": point.creation_date.astimezone(UTC).date().isoformat(),
    }
    if point.backup_plan_id:
        tags["coldvault:backup-plan-id"] = point.backup_plan_id
    for key in sorted(point.tags, key=lambda k: (k != "Name", k)):
        if len(tags) >= MAX_TAGS:
            break
        # never the staging tag: the lifecycle rule would expire the archive
        if key.lower().startswith("aws:") or key in tags or key == STAGING_TAG_KEY:
            continue
        tags[key[:TAG_KEY_LIMIT]] = point.tags[key][:TAG_VALUE_LIMIT]
    return {k: v[:TAG_VALUE_LIMIT] for k, v in list(tags.items())[:MAX_TAGS]}

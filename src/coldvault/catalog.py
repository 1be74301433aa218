"""The hot catalogue: find an archive's manifest by AMI id, recovery point ARN or archive key, list
them all, and tell each archive's restore state from ``HeadObject`` — never reading a cold body.

The manifests are written by the archive pipeline (``catalog/ami/<ami-id>.json`` plus pointer
objects, see :mod:`coldvault.keys`); :func:`entry_from_manifest` is the one place that reads their
schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coldvault import keys
from coldvault.aws.s3 import S3
from coldvault.aws.s3_glacier import ArchiveState, RestoreStatus
from coldvault.errors import UsageError

MANIFEST_PREFIX = f"{keys.CATALOG_PREFIX}ami/"


@dataclass(frozen=True)
class CatalogEntry:
    """What a restore or a listing needs from one manifest."""

    bucket: str
    manifest_key: str
    ami_id: str
    archive_key: str
    storage_class: str
    archive_size: int
    ami_name: str = ""
    ami_description: str = ""
    ami_tags: dict[str, str] = field(default_factory=dict)
    block_devices: tuple[dict[str, Any], ...] = ()
    encrypted: bool = False
    recovery_point_arn: str = ""
    vault_name: str = ""
    instance_id: str = ""
    source_account: str = ""
    source_region: str = ""
    created: datetime | None = None
    archived_at: datetime | None = None


def _get(doc: dict[str, Any], *paths: str, default: Any = None) -> Any:
    """The first present value among dotted ``paths``."""
    for path in paths:
        value: Any = doc
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value not in (None, ""):
            return value
    return default


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):  # [{"Key": ..., "Value": ...}]
        return {str(t["Key"]): str(t.get("Value", "")) for t in value if isinstance(t, dict) and "Key" in t}
    return {}


def _device(raw: dict[str, Any]) -> dict[str, Any]:
    """A block device as ``{device, size_gib, volume_type, encrypted}`` (from a BlockDeviceMapping)."""
    return {
        "device": str(_get(raw, "DeviceName", "device", default="")),
        "size_gib": int(_get(raw, "Ebs.VolumeSize", "size_gib", default=0)),
        "volume_type": str(_get(raw, "Ebs.VolumeType", "volume_type", default="")),
        "encrypted": bool(_get(raw, "Ebs.Encrypted", "encrypted", default=False)),
    }


def entry_from_manifest(bucket: str, manifest_key: str, doc: dict[str, Any]) -> CatalogEntry:
    """A catalogue entry from a manifest document (schema ``coldvault.manifest/1``)."""
    raw_devices = _get(doc, "ami.block_devices", default=[]) or []
    devices = tuple(
        _device(d) for d in raw_devices if isinstance(d, dict) and ("Ebs" in d or "size_gib" in d)
    )
    point_encrypted = bool(_get(doc, "recovery_point.is_encrypted", default=False))
    devices_encrypted = any(d["encrypted"] for d in devices)
    resource_arn = str(_get(doc, "recovery_point.resource_arn", default=""))
    arn_parts = resource_arn.split(":")
    return CatalogEntry(
        bucket=bucket,
        manifest_key=manifest_key,
        ami_id=str(_get(doc, "ami_id", "ami.id", default="")),
        archive_key=str(_get(doc, "archive.key", default="")),
        storage_class=str(_get(doc, "archive.storage_class", default="")),
        archive_size=int(_get(doc, "archive.size", default=0)),
        ami_name=str(_get(doc, "ami.name", default="")),
        ami_description=str(_get(doc, "ami.description", default="")),
        ami_tags=_tags(_get(doc, "ami.tags", "recovery_point.tags", default={})),
        block_devices=devices,
        encrypted=point_encrypted or devices_encrypted,
        recovery_point_arn=str(_get(doc, "recovery_point.arn", default="")),
        vault_name=str(_get(doc, "recovery_point.vault_name", default="")),
        instance_id=resource_arn.rsplit("/", 1)[-1] if "/" in resource_arn else "",
        source_account=arn_parts[4] if len(arn_parts) > 5 else "",
        source_region=arn_parts[3] if len(arn_parts) > 5 else "",
        created=_when(_get(doc, "recovery_point.creation_date")),
        archived_at=_when(_get(doc, "verification.at", "archive.archived_at")),
    )


@dataclass(frozen=True)
class ListFilter:
    instance_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    storage_class: str | None = None

    def matches(self, entry: CatalogEntry) -> bool:
        if self.instance_id and entry.instance_id != self.instance_id:
            return False
        if self.storage_class and entry.storage_class != self.storage_class:
            return False
        if self.since and (entry.created is None or entry.created < self.since):
            return False
        return not (self.until and (entry.created is None or entry.created >= self.until))


@dataclass(frozen=True)
class Listed:
    """One catalogue row: the manifest's facts plus what ``HeadObject`` says now."""

    entry: CatalogEntry
    state: ArchiveState | None  # None: the archive object is missing

    @property
    def restore_state(self) -> str:
        if self.state is None:
            return "archive missing"
        if self.state.restore is RestoreStatus.READABLE and self.state.restore_expiry:
            return f"readable until {self.state.restore_expiry.astimezone(UTC):%Y-%m-%d %H:%M}Z"
        if self.state.restore is RestoreStatus.READABLE:
            return "readable"
        return str(self.state.restore.value)

    @staticmethod
    def json_fields() -> tuple[str, ...]:
        """The keys of :meth:`to_json`, in order (a CSV header even for an empty listing)."""
        return (
            "ami_id", "instance_id", "recovery_point_arn", "created", "storage_class", "size_bytes",
            "archived_at", "restore_state", "restore_expiry", "archive_key", "encrypted",
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {
            "ami_id": e.ami_id,
            "instance_id": e.instance_id,
            "recovery_point_arn": e.recovery_point_arn,
            "created": e.created.isoformat() if e.created else None,
            "storage_class": self.state.storage_class if self.state else e.storage_class,
            "size_bytes": e.archive_size,
            "archived_at": e.archived_at.isoformat() if e.archived_at else None,
            "restore_state": self.restore_state,
            "restore_expiry": (
                self.state.restore_expiry.isoformat() if self.state and self.state.restore_expiry else None
            ),
            "archive_key": e.archive_key,
            "encrypted": e.encrypted,
        }


class Catalog:
    """The catalogue of one archive bucket."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._client = s3_client
        self._s3 = S3(s3_client)
        self.bucket = bucket

    def _entry(self, manifest_key: str) -> CatalogEntry | None:
        doc = self._s3.get_json(self.bucket, manifest_key)
        return entry_from_manifest(self.bucket, manifest_key, doc) if doc is not None else None

    def _via_pointer(self, pointer_key: str) -> CatalogEntry | None:
        pointer = self._s3.get_json(self.bucket, pointer_key)
        if pointer is None:
            return None
        target = _get(pointer, "manifest_key", "manifest", "key")
        return self._entry(str(target)) if target else None

    def entries(self) -> Iterator[CatalogEntry]:
        """Every manifest in the catalogue."""
        for key in self._s3.iter_keys(self.bucket, MANIFEST_PREFIX):
            if key.endswith(".json"):
                entry = self._entry(key)
                if entry is not None:
                    yield entry

    def find(self, ref: str) -> CatalogEntry:
        """The one archive ``ref`` names: an AMI id, a recovery point ARN, an archive key, or an
        instance id with a single archive. Unknown or ambiguous → :class:`UsageError`."""
        ref = ref.strip()
        if not ref:
            raise UsageError(
                "no archive given", hint="give an AMI id, a recovery point ARN or an archive key"
            )
        found: CatalogEntry | None = None
        if keys.is_ami_id(ref):
            found = self._entry(keys.manifest_key(ref))
        elif ref.startswith("arn:"):
            found = self._via_pointer(keys.recovery_point_pointer_key(ref))
        elif ref.startswith(keys.ARCHIVE_PREFIX) or ref.endswith(".bin"):
            found = self._via_pointer(keys.archive_pointer_key(ref))
        elif ref.startswith(("i-", "ami-")):
            return self._find_partial(ref)
        if found is None:
            raise UsageError(
                f"no archive found for {ref!r} in s3://{self.bucket}",
                hint="run 'coldvault list' to see the archives, or check --bucket",
            )
        return found

    def _find_partial(self, ref: str) -> CatalogEntry:
        """An instance id or the start of an AMI id: exactly one match, or a usage error."""
        matches = [e for e in self.entries() if e.instance_id == ref or e.ami_id.startswith(ref)]
        if not matches:
            raise UsageError(
                f"no archive found for {ref!r} in s3://{self.bucket}",
                hint="give an AMI id, a recovery point ARN or an archive key ('coldvault list' shows them)",
            )
        if len(matches) > 1:
            shown = ", ".join(sorted(e.ami_id for e in matches)[:5])
            more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
            raise UsageError(
                f"{ref!r} is ambiguous: {len(matches)} archives match ({shown}{more})",
                hint="give the AMI id of the one to restore",
            )
        return matches[0]

    def state(self, entry: CatalogEntry) -> ArchiveState | None:
        return self._s3.head_archive(self.bucket, entry.archive_key)

    def listing(self, filters: ListFilter | None = None, *, workers: int = 8) -> list[Listed]:
        """Every matching archive with its restore state, newest recovery point first (manifests and
        heads read ``workers`` at a time)."""
        manifest_keys = [k for k in self._s3.iter_keys(self.bucket, MANIFEST_PREFIX) if k.endswith(".json")]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            entries = [e for e in pool.map(self._entry, manifest_keys) if e is not None]
        chosen = [e for e in entries if filters is None or filters.matches(e)]
        return self.with_states(chosen, workers=workers)

    def with_states(self, entries: Iterable[CatalogEntry], *, workers: int = 8) -> list[Listed]:
        chosen = list(entries)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            states = list(pool.map(self.state, chosen))
        rows = [Listed(e, s) for e, s in zip(chosen, states, strict=True)]
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(rows, key=lambda r: (r.entry.created or oldest, r.entry.ami_id), reverse=True)

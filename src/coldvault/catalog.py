"""The hot catalogue: find an archive's manifest by AMI id, recovery point ARN or archive key, list
them all, and tell each archive's restore state from ``HeadObject`` — never reading a cold body.

The manifests are written by the archive pipeline (``catalog/ami/<ami-id>.json`` plus pointer
objects, see :mod:`coldvault.keys`) and read here as :class:`~coldvault.manifest.Manifest`, the one
reader of their schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coldvault import keys, manifest
from coldvault.aws.s3 import S3
from coldvault.aws.s3_glacier import ArchiveState, RestoreStatus
from coldvault.errors import UsageError
from coldvault.manifest import Manifest


@dataclass(frozen=True)
class ListFilter:
    instance_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    storage_class: str | None = None

    def matches(self, entry: Manifest) -> bool:
        if self.instance_id and entry.instance_id != self.instance_id:
            return False
        if self.storage_class and entry.archive.storage_class != self.storage_class:
            return False
        if self.since and entry.created < self.since:
            return False
        return not (self.until and entry.created >= self.until)


@dataclass(frozen=True)
class Listed:
    """One catalogue row: the manifest's facts plus what ``HeadObject`` says now."""

    entry: Manifest
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
            "recovery_point_arn": e.recovery_point.arn,
            "created": e.created.isoformat(),
            "storage_class": self.state.storage_class if self.state else e.archive.storage_class,
            "size_bytes": e.archive.size,
            "archived_at": e.verification.at.isoformat(),
            "restore_state": self.restore_state,
            "restore_expiry": (
                self.state.restore_expiry.isoformat() if self.state and self.state.restore_expiry else None
            ),
            "archive_key": e.archive.key,
            "encrypted": e.encrypted,
        }


class Catalog:
    """The catalogue of one archive bucket."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._client = s3_client
        self._s3 = S3(s3_client)
        self.bucket = bucket

    def _entry(self, manifest_key: str) -> Manifest | None:
        return manifest.read(self._s3, self.bucket, manifest_key)

    def _via_pointer(self, pointer_key: str) -> Manifest | None:
        target = manifest.read_pointer(self._s3, self.bucket, pointer_key)
        return self._entry(target) if target else None

    def _manifest_keys(self) -> list[str]:
        return [
            k for k in self._s3.iter_keys(self.bucket, keys.MANIFEST_PREFIX) if keys.ami_of_manifest_key(k)
        ]

    def entries(self) -> Iterator[Manifest]:
        """Every manifest in the catalogue."""
        for key in self._manifest_keys():
            entry = self._entry(key)
            if entry is not None:
                yield entry

    def find(self, ref: str) -> Manifest:
        """The one archive ``ref`` names: an AMI id, a recovery point ARN, an archive key, or an
        instance id with a single archive. Unknown or ambiguous → :class:`UsageError`."""
        ref = ref.strip()
        if not ref:
            raise UsageError(
                "no archive given", hint="give an AMI id, a recovery point ARN or an archive key"
            )
        found: Manifest | None = None
        if keys.is_ami_id(ref):
            found = self._entry(keys.manifest_key(ref))
        elif ref.startswith("arn:"):
            found = self._via_pointer(keys.recovery_point_pointer_key(ref))
        elif keys.looks_like_archive_key(ref):
            found = self._via_pointer(keys.archive_pointer_key(ref))
        elif ref.startswith(("i-", "ami-")):
            return self._find_partial(ref)
        if found is None:
            raise UsageError(
                f"no archive found for {ref!r} in s3://{self.bucket}",
                hint="run 'coldvault list' to see the archives, or check --bucket",
            )
        return found

    def _find_partial(self, ref: str) -> Manifest:
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

    def state(self, entry: Manifest) -> ArchiveState | None:
        return self._s3.head_archive(self.bucket, entry.archive.key)

    def listing(self, filters: ListFilter | None = None, *, workers: int = 8) -> list[Listed]:
        """Every matching archive with its restore state, newest recovery point first (manifests and
        heads read ``workers`` at a time)."""
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            entries = [e for e in pool.map(self._entry, self._manifest_keys()) if e is not None]
        chosen = [e for e in entries if filters is None or filters.matches(e)]
        return self.with_states(chosen, workers=workers)

    def with_states(self, entries: Iterable[Manifest], *, workers: int = 8) -> list[Listed]:
        chosen = list(entries)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            states = list(pool.map(self.state, chosen))
        rows = [Listed(e, s) for e, s in zip(chosen, states, strict=True)]
        return sorted(rows, key=lambda r: (r.entry.created, r.entry.ami_id), reverse=True)

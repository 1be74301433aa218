"""The blocks of the sandbox's EBS snapshots, as incremental lineages (for the EBS direct APIs).

AWS Backup backs an instance up as an AMI with one snapshot per EBS volume, and each snapshot of a
volume stores only the 512 KiB blocks written since the volume's previous snapshot: a *lineage*.
The sandbox models that without storing any data:

- A lineage is one (instance, device) pair. Its snapshots are ordered by their AMI's creation date.
- The first snapshot holds the allocated part of the volume (blocks ``0 .. allocated-1``).
- Each later snapshot holds the blocks changed since its predecessor: part of the day's writes
  rewrite a small *hot set* (logs, database pages: the same blocks every day), the rest land
  anywhere on the volume. Over a gap of ``d`` days the hot set is rewritten at most once, while
  cold writes add up, so a monthly point changes far more than a daily one.
- A block's version at a snapshot is the latest snapshot at or before it that wrote the block;
  two snapshots differ at a block when their versions differ. A deleted snapshot stays in the
  lineage (its writes still shape the versions of its successors), exactly as EBS keeps the blocks
  a later snapshot still references.

Every figure is deterministic: it comes from the lineage's key and the snapshot's id, so the same
fleet gives the same blocks. Rates are :class:`~coldvault.sandbox.state.SandboxSettings` fields,
with per-instance overrides (``ebs_instance_profiles``).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import random
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coldvault.sandbox.state import STATE

BLOCK_SIZE = 524_288  # bytes: EBS direct APIs' block size
BLOCKS_PER_GIB = (1024**3) // BLOCK_SIZE
SECONDS_PER_DAY = 86_400.0


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def block_token(version: str, index: int) -> str:
    """An opaque token for one version of one block (the model's pattern ``^[A-Za-z0-9+/=]+$``)."""
    digest = hashlib.sha256(f"{version}:{index}".encode()).digest()[:24]
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Profile:
    """How one lineage's volume is used: what is allocated, how much is written per day, where."""

    volume_blocks: int
    allocated_blocks: int
    daily_writes: float  # blocks written per day
    hot_share: float  # of the daily writes, the share that rewrites the hot set
    hot_start: int
    hot_blocks: int


@dataclass
class SnapshotEntry:
    snapshot_id: str
    created: datetime
    deleted: bool = False
    changes: array[int] | None = None  # sorted block indexes this snapshot wrote (lazily made)


@dataclass
class Lineage:
    key: tuple[str, str]  # (instance id, device name)
    volume_gib: int
    entries: list[SnapshotEntry] = field(default_factory=list)

    def profile(self) -> Profile:
        settings = STATE.settings
        instance, device = self.key
        custom = settings.ebs_instance_profiles.get(instance, {})
        volume_blocks = max(1, self.volume_gib * BLOCKS_PER_GIB)
        fraction = float(
            custom.get("allocated_fraction", settings.ebs_allocated_fraction * (0.6 + 0.8 * _unit(*self.key)))
        )
        allocated = max(1, min(volume_blocks, round(volume_blocks * min(max(fraction, 0.0), 1.0))))
        rate = float(
            custom.get(
                "daily_change_rate",
                settings.ebs_daily_change_rate * (0.5 + 1.5 * _unit(instance, "rate")),
            )
        )
        hot_share = min(max(float(custom.get("hot_share", settings.ebs_hot_share)), 0.0), 1.0)
        hot_blocks = max(1, round(allocated * settings.ebs_hot_set_fraction))
        hot_start = int((allocated - hot_blocks) * _unit(instance, device, "hot"))
        return Profile(
            volume_blocks=volume_blocks,
            allocated_blocks=allocated,
            daily_writes=max(0.0, rate) * allocated,
            hot_share=hot_share,
            hot_start=max(0, hot_start),
            hot_blocks=hot_blocks,
        )

    def position(self, snapshot_id: str) -> int:
        for index, entry in enumerate(self.entries):
            if entry.snapshot_id == snapshot_id:
                return index
        raise KeyError(snapshot_id)

    def changes(self, position: int) -> array[int]:
        """The blocks the snapshot at ``position`` wrote, made once from its id and its gap."""
        entry = self.entries[position]
        if entry.changes is not None:
            return entry.changes
        profile = self.profile()
        if position == 0:
            entry.changes = array("i", range(profile.allocated_blocks))
            return entry.changes
        gap_days = max(
            (entry.created - self.entries[position - 1].created).total_seconds() / SECONDS_PER_DAY, 1 / 24
        )
        rng = random.Random(f"{self.key}:{entry.snapshot_id}")
        hot_per_day = profile.daily_writes * profile.hot_share
        hot_fraction = min(1.0, hot_per_day / profile.hot_blocks) if profile.hot_blocks else 0.0
        hot_count = round(profile.hot_blocks * (1 - (1 - hot_fraction) ** gap_days))
        cold_count = min(
            profile.volume_blocks, round(profile.daily_writes * (1 - profile.hot_share) * gap_days)
        )
        hot_range = range(profile.hot_start, profile.hot_start + profile.hot_blocks)
        written = set(rng.sample(hot_range, min(hot_count, len(hot_range))))
        written.update(rng.sample(range(profile.volume_blocks), cold_count))
        entry.changes = array("i", sorted(written))
        return entry.changes

    # -- what the EBS direct APIs read --------------------------------------------------------
    def version(self, position: int, index: int) -> str | None:
        """The id of the snapshot whose write of ``index`` the snapshot at ``position`` holds."""
        for earlier in range(position, -1, -1):
            changes = self.changes(earlier)
            at = bisect_left(changes, index)
            if at < len(changes) and changes[at] == index:
                return self.entries[earlier].snapshot_id
        return None

    def blocks(self, position: int, start: int) -> Iterator[int]:
        """The allocated block indexes of the snapshot at ``position``, ascending from ``start``."""
        return _merged([self.changes(p) for p in range(position + 1)], start)

    def changed(self, first: int, second: int, start: int) -> Iterator[int]:
        """Block indexes whose version differs between two snapshots of the lineage."""
        low, high = sorted((first, second))
        return _merged([self.changes(p) for p in range(low + 1, high + 1)], start)


def _merged(arrays: list[array[int]], start: int) -> Iterator[int]:
    """The sorted union of sorted ``arrays``, from ``start`` on, without repeats."""
    streams = [iter(a[bisect_left(a, start) :]) for a in arrays]
    last = -1
    for index in heapq.merge(*streams):
        if index != last:
            last = index
            yield index


class Lineages:
    """Every lineage of one EC2 backend, registered from the Backup AMIs it holds."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Lineage] = {}
        self.by_snapshot: dict[str, Lineage] = {}
        self.lock = threading.RLock()

    def refresh(self, ec2_backend: Any) -> None:
        """Register the snapshots of Backup AMIs not seen yet; order each lineage by creation date."""
        from coldvault.sandbox.backup_amis import BackupAmi

        live: set[str] = set()
        touched: set[tuple[str, str]] = set()
        for ami in list(ec2_backend.amis.values()):
            if not isinstance(ami, BackupAmi):
                continue
            instance = _instance_of(ami)
            created = _created(ami)
            for device, snapshot in ami.volume_snapshots:
                live.add(snapshot.id)
                known = self.by_snapshot.get(snapshot.id)
                if known is not None:
                    entry = known.entries[known.position(snapshot.id)]
                    if entry.created != created:  # backdated since
                        entry.created = created
                        touched.add(known.key)
                    continue
                key = (instance, device)
                lineage = self.by_key.setdefault(key, Lineage(key, int(snapshot.volume.size)))
                lineage.entries.append(SnapshotEntry(snapshot.id, created))
                self.by_snapshot[snapshot.id] = lineage
                touched.add(key)
        for snapshot_id, lineage in self.by_snapshot.items():
            entry = lineage.entries[lineage.position(snapshot_id)]
            entry.deleted = snapshot_id not in live
        for key in touched:
            self.by_key[key].entries.sort(key=lambda e: (e.created, e.snapshot_id))

    def find(self, ec2_backend: Any, snapshot_id: str) -> tuple[Lineage, int] | None:
        """The live snapshot's lineage and position, or None when it is unknown or deleted."""
        with self.lock:
            self.refresh(ec2_backend)
            lineage = self.by_snapshot.get(snapshot_id)
            if lineage is None:
                return None
            position = lineage.position(snapshot_id)
            if lineage.entries[position].deleted:
                return None
            return lineage, position


def _instance_of(ami: Any) -> str:
    """The backed-up instance: AWS Backup names its AMIs ``AwsBackup_<instance-id>_<uuid>``."""
    parts = str(ami.name or "").split("_")
    return parts[1] if len(parts) >= 3 and parts[1].startswith("i-") else str(ami.id)


def _created(ami: Any) -> datetime:
    value = ami.creation_date
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def lineages_for(ec2_backend: Any) -> Lineages:
    """The backend's lineages (kept on the backend object, so moto's reset drops them too)."""
    found = ec2_backend.__dict__.get("_coldvault_lineages")
    if found is None:
        found = Lineages()
        ec2_backend.__dict__["_coldvault_lineages"] = found
    return found  # type: ignore[no-any-return]

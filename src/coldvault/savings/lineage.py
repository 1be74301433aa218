"""Measure recovery points' snapshot blocks with the EBS direct APIs, one instance at a time.

An instance's recovery points, oldest first, give each EBS device a lineage of snapshots. For a lineage
coldvault lists the oldest snapshot's blocks (``ListSnapshotBlocks``) and what changed between each
pair of neighbours (``ListChangedBlocks``) up to the point after the newest candidate; from those
:mod:`coldvault.savings.blocks` computes what deleting each candidate frees and what each snapshot
holds. Two snapshots of one device that EBS calls unrelated (the volume was replaced) start a new
lineage. Only block indexes are listed, never data; the number of requests is counted because each is
billed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from coldvault.aws.ebs import Ebs
from coldvault.errors import AccessDenied, AwsError
from coldvault.savings.blocks import allocated_blocks, freed_alone, freed_blocks


@dataclass(frozen=True)
class LineagePoint:
    """One recovery point of an instance: its AMI, creation date and each device's snapshot."""

    ami_id: str
    created: datetime
    snapshots: dict[str, str]  # device name -> snapshot id


@dataclass(frozen=True)
class PointBlocks:
    """What one candidate holds and what deleting it alone frees, in bytes."""

    ami_id: str
    freed_bytes: int
    held_bytes: int  # blocks its snapshots hold: what a store reads and an archive compresses


@dataclass
class _Segment:
    owners: list[tuple[str, str]] = field(default_factory=list)  # (ami id, snapshot id), oldest first
    writes: list[set[int]] = field(default_factory=list)


@dataclass
class InstanceBlocks:
    """One instance's measured candidates; its lineages are kept to price any set of them at once."""

    points: dict[str, PointBlocks] = field(default_factory=dict)
    calls: int = 0
    segments: list[tuple[_Segment, int]] = field(default_factory=list)

    def freed_together(self, ami_ids: Collection[str]) -> int:
        """Bytes deleting all of ``ami_ids`` at once frees (at least the sum of each alone)."""
        chosen = set(ami_ids)
        total = 0
        for segment, block_size in self.segments:
            doomed = [i for i, (ami, _) in enumerate(segment.owners) if ami in chosen]
            total += freed_blocks(segment.writes, doomed) * block_size
        return total


class BlocksUnavailable(Exception):
    """The EBS direct APIs cannot be used (denied): estimates fall back to ranges."""


def measure_instance(ebs: Ebs, points: Sequence[LineagePoint], candidates: Collection[str]) -> InstanceBlocks:
    """Per candidate: freed and held bytes (and the lineages, for :meth:`InstanceBlocks.freed_together`).

    Raises :class:`BlocksUnavailable` when access to the EBS direct APIs is denied.
    """
    ordered = sorted(points, key=lambda p: (p.created, p.ami_id))
    wanted = {p.ami_id for p in ordered} & set(candidates)
    result = InstanceBlocks()
    if not wanted:
        return result
    last = max(i for i, p in enumerate(ordered) if p.ami_id in wanted)
    ordered = ordered[: last + 2]  # the point after the newest candidate decides what it frees
    freed: dict[str, int] = {}
    held: dict[str, int] = {}
    devices = sorted({d for p in ordered for d in p.snapshots})
    for device in devices:
        chain = [(p.ami_id, p.snapshots[device]) for p in ordered if device in p.snapshots]
        for segment, block_size in _lineages(ebs, chain, result):
            result.segments.append((segment, block_size))
            for position, (ami, _) in enumerate(segment.owners):
                if ami in wanted:
                    freed[ami] = freed.get(ami, 0) + freed_alone(segment.writes, position) * block_size
                    held[ami] = held.get(ami, 0) + allocated_blocks(segment.writes, position) * block_size
    for ami in sorted(wanted):
        result.points[ami] = PointBlocks(ami, freed.get(ami, 0), held.get(ami, 0))
    return result


def _lineages(
    ebs: Ebs, chain: Sequence[tuple[str, str]], result: InstanceBlocks
) -> list[tuple[_Segment, int]]:
    """Split one device's snapshots into lineages and list each one's writes."""
    segments: list[tuple[_Segment, int]] = []
    current: _Segment | None = None
    for ami, snapshot in chain:
        listing = None
        if current is not None:
            try:
                listing = ebs.changed_blocks(current.owners[-1][1], snapshot)
            except AccessDenied as exc:
                raise BlocksUnavailable(exc.one_line()) from exc
            except AwsError as exc:
                if exc.code != "ValidationException":  # anything else is not "another volume"
                    raise
                listing = None
        if listing is None:
            try:
                listing = ebs.snapshot_blocks(snapshot)
            except AccessDenied as exc:
                raise BlocksUnavailable(exc.one_line()) from exc
            current = _Segment()
            segments.append((current, listing.block_size))
        assert current is not None
        result.calls += listing.calls
        current.owners.append((ami, snapshot))
        current.writes.append(listing.blocks)
    return segments

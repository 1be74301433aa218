"""Which snapshot blocks deleting recovery points frees, from the blocks each snapshot wrote (pure).

A volume's snapshots form a lineage ``0 .. n-1`` (oldest first). ``writes[j]`` is the set of block
indexes snapshot ``j`` holds a version of its own for: for ``j > 0`` the blocks that changed since
snapshot ``j-1`` (``ListChangedBlocks``), for the oldest every block it holds (``ListSnapshotBlocks``).
The version of block ``i`` written by ``j`` is referenced by snapshots ``j .. w-1``, where ``w`` is the
next snapshot that writes ``i`` again (``n`` when none does). EBS frees that version when every snapshot
referencing it is deleted, so deleting the set ``S`` frees exactly the versions whose referencing range
lies inside ``S``. For one point ``k`` this is the issue's rule: the blocks ``k`` wrote that ``k+1``
writes again, or everything ``k`` wrote when ``k`` is the newest.

Deleting several points frees at least the sum of what each frees alone (a version referenced by two
deleted neighbours is freed only when both go), so totals are computed for the whole set, never added up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence, Set


def freed_blocks(writes: Sequence[Set[int]], deleted: Collection[int]) -> int:
    """How many block versions deleting the snapshots at positions ``deleted`` frees."""
    doomed = set(deleted)
    n = len(writes)
    if any(not 0 <= p < n for p in doomed):
        raise ValueError(f"positions must be within 0..{n - 1}")
    freed = 0
    for start in sorted(doomed):
        for block in writes[start]:
            position = start + 1
            while True:
                if position == n or block in writes[position]:
                    freed += 1  # every snapshot that referenced this version is deleted
                    break
                if position not in doomed:
                    break  # a kept snapshot still references it
                position += 1
    return freed


def freed_alone(writes: Sequence[Set[int]], position: int) -> int:
    """Blocks deleting only the snapshot at ``position`` frees."""
    return freed_blocks(writes, (position,))


def allocated_blocks(writes: Sequence[Set[int]], position: int) -> int:
    """Blocks the snapshot at ``position`` holds (its own and those it shares): a full copy's size."""
    held: set[int] = set()
    for own in writes[: position + 1]:
        held.update(own)
    return len(held)

"""The freed-block computation against a brute-force model of snapshot versions and references."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coldvault.savings.blocks import allocated_blocks, freed_alone, freed_blocks


def brute_force(writes: list[set[int]], deleted: set[int]) -> int:
    """Every (writer, block) version a kept snapshot still references survives; the rest of the
    deleted snapshots' versions are freed."""
    referenced: set[tuple[int, int]] = set()
    for position in range(len(writes)):
        if position in deleted:
            continue
        latest: dict[int, int] = {}
        for writer in range(position + 1):
            for block in writes[writer]:
                latest[block] = writer
        referenced.update((writer, block) for block, writer in latest.items())
    owned = {(writer, block) for writer in deleted for block in writes[writer]}
    return len(owned - referenced)


lineages = st.lists(st.sets(st.integers(0, 40), max_size=25), min_size=1, max_size=7)


@settings(max_examples=300, deadline=None)
@given(lineages, st.data())
def test_freed_blocks_equals_the_brute_force_model(writes: list[set[int]], data: st.DataObject) -> None:
    deleted = data.draw(st.sets(st.integers(0, len(writes) - 1)))
    assert freed_blocks(writes, deleted) == brute_force(writes, deleted)


@settings(max_examples=200, deadline=None)
@given(lineages, st.data())
def test_deleting_together_frees_at_least_the_sum_alone(writes: list[set[int]], data: st.DataObject) -> None:
    deleted = data.draw(st.sets(st.integers(0, len(writes) - 1)))
    assert freed_blocks(writes, deleted) >= sum(freed_alone(writes, p) for p in deleted)


def test_a_middle_point_frees_only_what_the_next_one_rewrites() -> None:
    writes = [set(range(100)), {1, 2, 3, 50}, {3, 60}, {7}]
    assert freed_alone(writes, 1) == 1  # block 3: rewritten by the next snapshot
    assert freed_alone(writes, 3) == 1  # the newest frees everything it wrote
    assert freed_alone(writes, 0) == 4  # blocks 1, 2, 3 and 50: the next snapshot rewrote them
    assert freed_blocks(writes, {0, 1, 2, 3}) == 100 + 4 + 2 + 1
    assert allocated_blocks(writes, 2) == 100  # every block was allocated by the first snapshot


def test_positions_outside_the_lineage_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="within"):
        freed_blocks([{1}], {1})

"""EBS direct APIs: which blocks a snapshot holds and which changed between two (IAM actions declared
per method). coldvault never reads block data: listings are enough to know what a recovery point frees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coldvault.aws.errors import aws_call
from coldvault.aws.permissions import permissions

PAGE = 10_000  # MaxResults ceiling of both listings
BLOCK_SIZE = 524_288  # bytes; returned as BlockSize, constant for EBS snapshots


@dataclass
class BlockListing:
    """Block indexes from one listing, the block size, and how many requests it took."""

    blocks: set[int] = field(default_factory=set)
    block_size: int = BLOCK_SIZE
    calls: int = 0


class Ebs:
    """Thin adapter over a boto3 ``ebs`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @permissions("ebs:ListSnapshotBlocks")
    def snapshot_blocks(self, snapshot_id: str) -> BlockListing:
        """Every page of ``ListSnapshotBlocks``: the blocks the snapshot holds."""
        return self._pages("ListSnapshotBlocks", "Blocks", {"SnapshotId": snapshot_id})

    @permissions("ebs:ListChangedBlocks")
    def changed_blocks(self, first_snapshot_id: str, second_snapshot_id: str) -> BlockListing:
        """Every page of ``ListChangedBlocks``: blocks that differ between two snapshots of a lineage."""
        return self._pages(
            "ListChangedBlocks",
            "ChangedBlocks",
            {"FirstSnapshotId": first_snapshot_id, "SecondSnapshotId": second_snapshot_id},
        )

    def _pages(self, operation: str, key: str, params: dict[str, Any]) -> BlockListing:
        listing = BlockListing()
        method = self.client.list_snapshot_blocks if key == "Blocks" else self.client.list_changed_blocks
        kwargs: dict[str, Any] = {**params, "MaxResults": PAGE}
        while True:
            with aws_call(operation):
                page = method(**kwargs)
            listing.calls += 1
            listing.block_size = int(page.get("BlockSize") or listing.block_size)
            listing.blocks.update(int(item["BlockIndex"]) for item in page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return listing
            kwargs["NextToken"] = token

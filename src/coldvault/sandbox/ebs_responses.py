"""ListSnapshotBlocks and ListChangedBlocks for the snapshots of the sandbox's Backup AMIs.

moto's EBS backend knows only the snapshots made with ``StartSnapshot`` (and ignores paging); the
snapshots of recovery points (:mod:`coldvault.sandbox.backup_amis`) are answered here from
:mod:`coldvault.sandbox.ebs_lineage`, as the EBS direct APIs answer (botocore's ``ebs`` model,
2019-11-02): ``BlockSize`` 524288, ``VolumeSize`` in GiB, ``MaxResults`` 100–10,000,
``StartingBlockIndex``, an opaque ``NextToken`` (which wins over ``StartingBlockIndex``) and the
tokens' ``ExpiryTime``. Other snapshots still go to moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import islice
from typing import Any

from moto.core.exceptions import JsonRESTError

from coldvault.sandbox.ebs_lineage import BLOCK_SIZE, Lineage, block_token, lineages_for
from coldvault.sandbox.state import STATE

DEFAULT_MAX_RESULTS = 10_000
MIN_MAX_RESULTS, MAX_MAX_RESULTS = 100, 10_000
TOKEN_LIFETIME = timedelta(days=7)  # an assumption: AWS documents ExpiryTime, not its distance

Response = tuple[str, dict[str, str]]


class EbsError(JsonRESTError):  # type: ignore[misc]
    """An EBS direct APIs error: ``__type``, ``message`` and the model's ``Reason`` member."""

    def __init__(self, code: str, message: str, reason: str, status: int) -> None:
        super().__init__(code, message)
        self.code = status
        self.description = json.dumps(
            {"__type": code, "message": message, "Message": message, "Reason": reason}
        )


def _validation(message: str, reason: str = "INVALID_PARAMETER_VALUE") -> EbsError:
    return EbsError("ValidationException", message, reason, 400)


def _not_found(snapshot_id: str) -> EbsError:
    return EbsError(
        "ResourceNotFoundException",
        f"The snapshot '{snapshot_id}' does not exist.",
        "SNAPSHOT_NOT_FOUND",
        404,
    )


def check_fault(operation: str, *snapshot_ids: str) -> None:
    """Raise the EBS error of an armed ``throttle``/``access_denied``/``error`` fault."""
    fault = STATE.faults.take(operation, *snapshot_ids, kinds=("throttle", "access_denied", "error"))
    if fault is None:
        return
    if fault.kind == "throttle":
        raise EbsError("RequestThrottledException", "Rate exceeded", "ACCOUNT_THROTTLED", 400)
    if fault.kind == "access_denied":
        raise EbsError(
            "AccessDeniedException",
            fault.reason or f"User is not authorized to perform: ebs:{operation} (injected by the sandbox)",
            "UNAUTHORIZED_ACCOUNT",
            403,
        )
    raise EbsError(
        fault.code or "InternalServerException", fault.reason or "injected by the sandbox", "", fault.status
    )


def _query(self: Any, name: str) -> str | None:
    values = self.querystring.get(name)
    if isinstance(values, list):
        return str(values[0]) if values else None
    return None if values is None else str(values)


def _int(self: Any, name: str, member: str, low: int, high: int | None) -> int | None:
    raw = _query(self, name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _validation(f"{member} must be an integer, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _validation(f"{member} must be {bound}")
    return value


def _encode_token(index: int) -> str:
    return base64.b64encode(f"cv1:{index}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        prefix, _, index = base64.b64decode(token, validate=True).decode().partition(":")
        if prefix != "cv1":
            raise ValueError(prefix)
        return int(index)
    except ValueError:
        raise _validation("The pagination token is invalid.", "INVALID_PAGE_TOKEN") from None


def _page(self: Any, indexes: Callable[[int], Iterator[int]]) -> tuple[list[int], str | None]:
    """One page of ``indexes(start)``: ``MaxResults`` of them and the token for the rest."""
    limit = _int(self, "maxResults", "MaxResults", MIN_MAX_RESULTS, MAX_MAX_RESULTS) or DEFAULT_MAX_RESULTS
    token = _query(self, "pageToken")
    start = (
        _decode_token(token)
        if token
        else (_int(self, "startingBlockIndex", "StartingBlockIndex", 0, None) or 0)
    )
    page = list(islice(indexes(start), limit + 1))
    if len(page) > limit:
        return page[:limit], _encode_token(page[limit])
    return page, None


def _body(lineage: Lineage, key: str, items: list[dict[str, Any]], next_token: str | None) -> Response:
    body: dict[str, Any] = {
        key: items,
        "ExpiryTime": (STATE.clock.now() + TOKEN_LIFETIME).timestamp(),
        "VolumeSize": lineage.volume_gib,
        "BlockSize": BLOCK_SIZE,
    }
    if next_token:
        body["NextToken"] = next_token
    return json.dumps(body), {"Content-Type": "application/json"}


def _path_snapshot(self: Any) -> str:
    parts = self.parsed_url.path.rstrip("/").split("/")
    return str(parts[-2])


def _find(self: Any, snapshot_id: str) -> tuple[Lineage, int] | None:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[self.current_account][self.region]
    return lineages_for(backend).find(backend, snapshot_id)


def make_list_snapshot_blocks(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def list_snapshot_blocks(self: Any) -> Any:
        snapshot_id = _path_snapshot(self)
        check_fault("ListSnapshotBlocks", snapshot_id)
        found = _find(self, snapshot_id)
        if found is None:
            if snapshot_id in self.ebs_backend.snapshots:
                return original(self)
            raise _not_found(snapshot_id)
        lineage, position = found
        page, next_token = _page(self, lambda start: lineage.blocks(position, start))
        version = lineage.version
        items = [{"BlockIndex": i, "BlockToken": block_token(str(version(position, i)), i)} for i in page]
        return _body(lineage, "Blocks", items, next_token)

    list_snapshot_blocks._coldvault = True  # type: ignore[attr-defined]
    return list_snapshot_blocks


def make_list_changed_blocks(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def list_changed_blocks(self: Any) -> Any:
        second_id = _path_snapshot(self)
        first_id = _query(self, "firstSnapshotId")
        check_fault("ListChangedBlocks", second_id, *([first_id] if first_id else []))
        second = _find(self, second_id)
        if second is None:
            if second_id in self.ebs_backend.snapshots:
                return original(self)
            raise _not_found(second_id)
        lineage, second_at = second
        first_at: int | None = None
        if first_id:
            first = _find(self, first_id)
            if first is None:
                raise _not_found(first_id)
            if first[0] is not lineage:
                raise _validation(
                    f"The snapshots '{first_id}' and '{second_id}' are not of the same volume lineage.",
                    "UNRELATED_SNAPSHOTS",
                )
            first_at = first[1]

        def indexes(start: int) -> Iterator[int]:
            if first_at is None:  # no first snapshot: every block the second one holds
                return lineage.blocks(second_at, start)
            return lineage.changed(first_at, second_at, start)

        page, next_token = _page(self, indexes)
        items: list[dict[str, Any]] = []
        for index in page:
            item: dict[str, Any] = {"BlockIndex": index}
            if first_at is not None and (older := lineage.version(first_at, index)) is not None:
                item["FirstBlockToken"] = block_token(older, index)
            if (newer := lineage.version(second_at, index)) is not None:
                item["SecondBlockToken"] = block_token(newer, index)
            items.append(item)
        return _body(lineage, "ChangedBlocks", items, next_token)

    list_changed_blocks._coldvault = True  # type: ignore[attr-defined]
    return list_changed_blocks


def install() -> None:
    """Answer the two listings for the snapshots of Backup AMIs (idempotent)."""
    from moto.ebs.responses import EBSResponse

    if not getattr(EBSResponse.list_snapshot_blocks, "_coldvault", False):
        EBSResponse.list_snapshot_blocks = make_list_snapshot_blocks(EBSResponse.list_snapshot_blocks)
    if not getattr(EBSResponse.list_changed_blocks, "_coldvault", False):
        EBSResponse.list_changed_blocks = make_list_changed_blocks(EBSResponse.list_changed_blocks)

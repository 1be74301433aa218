"""The EBS direct APIs' block listings for recovery points' snapshots: faithful to botocore's ``ebs``
model (shapes, paging, limits, errors) and incremental like real snapshot lineages."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from coldvault.sandbox.admin import SandboxAdmin
from tests.support.fleet import run_instance
from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

MODEL = botocore.session.get_session().get_service_model("ebs")
VAULT = "ebs-vault"


def modelled_errors(operation: str) -> set[str]:
    return {shape.name for shape in MODEL.operation_model(operation).error_shapes}


def all_pages(ebs: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = getattr(ebs, operation)(**kwargs, **({"NextToken": token} if token else {}))
        name = "".join(w.capitalize() for w in operation.split("_"))
        assert shape_errors("ebs", name, page) == [], name
        items.extend(page[key])
        token = page.get("NextToken")
        if not token:
            return items


def lineage(
    admin: SandboxAdmin, ec2: Any, sizes: list[int], ages: list[float], **profile: float
) -> list[str]:
    """Recovery points of one new instance at ``ages`` days (oldest first): their root snapshot ids."""
    instance = run_instance(ec2, [(f"/dev/sd{chr(97 + i)}", size, False) for i, size in enumerate(sizes)])
    if profile:
        admin.update_settings(ebs_instance_profiles={instance: profile})
    snapshots = []
    for age in ages:
        point = admin.create_recovery_point(
            vault_name=VAULT, instance_id=instance, age_days=age, create_vault=True
        )
        image = ec2.describe_images(ImageIds=[point["ImageId"]])["Images"][0]
        snapshots.append(image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"])
    return snapshots


@pytest.fixture
def clients(aws_env: dict[str, str]) -> tuple[Any, Any]:
    return boto3.client("ebs"), boto3.client("ec2")


def test_first_snapshot_holds_the_allocated_blocks_and_pages_as_the_model_says(
    admin: SandboxAdmin, clients: tuple[Any, Any]
) -> None:
    ebs, ec2 = clients
    [snapshot] = lineage(admin, ec2, [1], [3], allocated_fraction=0.25)
    first = ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=100)
    assert shape_errors("ebs", "ListSnapshotBlocks", first) == []
    assert first["BlockSize"] == 524288
    assert first["VolumeSize"] == 1
    assert len(first["Blocks"]) == 100
    assert first["NextToken"]
    assert first["ExpiryTime"] > admin_now(admin)
    blocks = all_pages(ebs, "list_snapshot_blocks", "Blocks", SnapshotId=snapshot, MaxResults=100)
    assert [b["BlockIndex"] for b in blocks] == list(range(512))  # a quarter of 2,048 blocks
    # StartingBlockIndex starts the list there; NextToken wins over it.
    later = ebs.list_snapshot_blocks(SnapshotId=snapshot, StartingBlockIndex=500)
    assert [b["BlockIndex"] for b in later["Blocks"]] == list(range(500, 512))
    assert "NextToken" not in later
    resumed = ebs.list_snapshot_blocks(
        SnapshotId=snapshot, MaxResults=100, StartingBlockIndex=0, NextToken=first["NextToken"]
    )
    assert resumed["Blocks"][0]["BlockIndex"] == 100
    # Same snapshot, same tokens: listings are deterministic.
    assert ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=100)["Blocks"] == first["Blocks"]


def admin_now(admin: SandboxAdmin) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(admin.clock()["now"])


def test_changed_blocks_follow_the_lineage(admin: SandboxAdmin, clients: tuple[Any, Any]) -> None:
    ebs, ec2 = clients
    a, b, c = lineage(admin, ec2, [2], [3, 2, 1], daily_change_rate=0.05, hot_share=0.5)
    ab = all_pages(ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=a, SecondSnapshotId=b)
    bc = all_pages(ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=b, SecondSnapshotId=c)
    ac = all_pages(ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=a, SecondSnapshotId=c)
    assert ab
    assert bc
    # What changed from a to c is what changed in either step.
    assert {x["BlockIndex"] for x in ac} == {x["BlockIndex"] for x in ab} | {x["BlockIndex"] for x in bc}
    # The tokens are the blocks' versions: b's token of a block it changed is c's when c kept it.
    b_tokens = {x["BlockIndex"]: x["SecondBlockToken"] for x in ab}
    c_blocks = {
        x["BlockIndex"]: x["BlockToken"]
        for x in all_pages(ebs, "list_snapshot_blocks", "Blocks", SnapshotId=c)
    }
    rewritten = {x["BlockIndex"] for x in bc}
    for index, token in b_tokens.items():
        assert (c_blocks[index] == token) == (index not in rewritten)
    # A block b wrote beyond a's allocation has no first token.
    a_blocks = {x["BlockIndex"] for x in all_pages(ebs, "list_snapshot_blocks", "Blocks", SnapshotId=a)}
    for item in ab:
        assert ("FirstBlockToken" in item) == (item["BlockIndex"] in a_blocks)


def test_deleting_a_middle_point_keeps_the_lineage(admin: SandboxAdmin, clients: tuple[Any, Any]) -> None:
    ebs, ec2 = clients
    a, b, c = lineage(admin, ec2, [1], [3, 2, 1], daily_change_rate=0.05)
    before = all_pages(ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=a, SecondSnapshotId=c)
    backup = boto3.client("backup")
    point = backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]
    middle = next(
        p["RecoveryPointArn"]
        for p in point
        if ec2.describe_images(ImageIds=[p["RecoveryPointArn"].rsplit("/", 1)[1]])["Images"][0][
            "BlockDeviceMappings"
        ][0]["Ebs"]["SnapshotId"]
        == b
    )
    backup.delete_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=middle)
    after = all_pages(ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=a, SecondSnapshotId=c)
    assert after == before
    with pytest.raises(ClientError) as gone:
        ebs.list_snapshot_blocks(SnapshotId=b)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_errors_are_the_models(admin: SandboxAdmin, clients: tuple[Any, Any]) -> None:
    ebs, ec2 = clients
    [a] = lineage(admin, ec2, [1], [2])
    [other] = lineage(admin, ec2, [1], [1])
    cases: list[tuple[str, dict[str, Any], str, int]] = [
        ("ListSnapshotBlocks", {"SnapshotId": "snap-0123456789abcdef0"}, "ResourceNotFoundException", 404),
        ("ListSnapshotBlocks", {"SnapshotId": a, "MaxResults": 20000}, "ValidationException", 400),
        ("ListSnapshotBlocks", {"SnapshotId": a, "NextToken": "bm9wZQ=="}, "ValidationException", 400),
        (
            "ListChangedBlocks",
            {"FirstSnapshotId": a, "SecondSnapshotId": other},
            "ValidationException",
            400,
        ),
    ]
    for operation, kwargs, code, status in cases:
        method = getattr(
            ebs, "list_snapshot_blocks" if operation == "ListSnapshotBlocks" else "list_changed_blocks"
        )
        with pytest.raises(ClientError) as error:
            method(**kwargs)
        assert error.value.response["Error"]["Code"] == code, kwargs
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert code in modelled_errors(operation)
    admin.add_fault("ListChangedBlocks", "access_denied", times=1)
    with pytest.raises(ClientError) as denied:
        ebs.list_changed_blocks(FirstSnapshotId=a, SecondSnapshotId=a)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "AccessDeniedException" in modelled_errors("ListChangedBlocks")


def test_a_sparse_writer_frees_little_and_a_hot_writer_frees_much(
    admin: SandboxAdmin, clients: tuple[Any, Any]
) -> None:
    """Blocks a point wrote that the next point rewrites are the point's alone: a volume whose writes
    land anywhere rewrites few of them, one rewriting a hot set rewrites most."""
    ebs, ec2 = clients

    def unique_share(snapshots: list[str]) -> float:
        a, b, c = snapshots
        ab = {
            x["BlockIndex"]
            for x in all_pages(
                ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=a, SecondSnapshotId=b
            )
        }
        bc = {
            x["BlockIndex"]
            for x in all_pages(
                ebs, "list_changed_blocks", "ChangedBlocks", FirstSnapshotId=b, SecondSnapshotId=c
            )
        }
        return len(ab & bc) / len(ab)

    sparse = unique_share(lineage(admin, ec2, [4], [3, 2, 1], daily_change_rate=0.01, hot_share=0.0))
    hot = unique_share(lineage(admin, ec2, [4], [3, 2, 1], daily_change_rate=0.01, hot_share=1.0))
    assert sparse < 0.05
    assert hot > 0.3

"""Helpers for the archive tests (no tests here): buckets, CLI runs, the invariants every run keeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from coldvault import keys
from coldvault.cli.app import main
from coldvault.sandbox.admin import SandboxAdmin

BUCKET = "coldvault-archive"
VAULT = "coldvault-demo"
PAB = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)
FAST = ["--poll-min-seconds", "0.05", "--yes"]


def make_bucket(
    name: str = BUCKET, *, encrypted: bool = True, private: bool = True, region: str = "us-east-1"
) -> None:
    s3 = boto3.client("s3", region_name=region)
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    if private:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PAB)
    if encrypted:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )


def fleet(admin: SandboxAdmin, **params: Any) -> dict[str, Any]:
    """A small seeded fleet whose store tasks finish within a fraction of a second."""
    admin.update_settings(store_bytes_per_second=5e13)
    defaults = {"instances": 2, "daily_days": 2, "monthly_months": 1}
    return admin.seed(**{**defaults, **params})


def archivable_fleet(admin: SandboxAdmin, *, instances: int = 1, months: int = 1, **params: Any) -> None:
    """``instances`` instances with ``months`` monthly recovery points each, all old enough to archive
    (no unusable or EBS points), and the archive bucket."""
    fleet(
        admin,
        instances=instances,
        daily_days=0,
        monthly_months=months,
        unusable=False,
        ebs_point=False,
        **params,
    )
    make_bucket()


def archive_args(*extra: str, older_than: str = "2") -> list[str]:
    return ["archive", "--vault", VAULT, "--bucket", BUCKET, "--older-than", older_than, *FAST, *extra]


def run_inprocess(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


CRASH_CLI = Path(__file__).resolve().parents[1] / "support" / "crash_cli.py"


def run_subprocess(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    crash_after: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``coldvault ARGS`` in a new process; with ``crash_after="STEP[:N]"`` it is SIGKILLed the N-th time
    a point passes STEP (``tests/support/crash_cli.py``)."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    command = (
        [sys.executable, "-m", "coldvault"]
        if crash_after is None
        else [sys.executable, str(CRASH_CLI), crash_after]
    )
    return subprocess.run(
        [*command, *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def points(vault: str = VAULT) -> dict[str, dict[str, Any]]:
    backup = boto3.client("backup")
    found: dict[str, dict[str, Any]] = {}
    for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault):
        for p in page["RecoveryPoints"]:
            found[p["RecoveryPointArn"]] = p
    return found


def store_task_counts() -> Counter[str]:
    """How many store tasks each AMI had (all tasks, not only the latest)."""
    ec2 = boto3.client("ec2")
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {}
    while True:
        r = ec2.describe_store_image_tasks(**kwargs)
        counts.update(t["AmiId"] for t in r.get("StoreImageTaskResults", []))
        if not r.get("NextToken"):
            return counts
        kwargs["NextToken"] = r["NextToken"]


def objects(bucket: str = BUCKET, prefix: str = "") -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    found: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            found[o["Key"]] = o
    return found


def read_json(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)  # type: ignore[no-any-return]


def manifests(bucket: str = BUCKET) -> dict[str, dict[str, Any]]:
    return {k.rsplit("/", 1)[-1][:-5]: read_json(k, bucket) for k in objects(bucket, "catalog/ami/")}


def assert_invariants(
    vault: str = VAULT, bucket: str = BUCKET, *, settled: bool = True, one_store_each: bool = True
) -> None:
    """What must hold after any run, crashed or not.

    - no multipart upload left (none orphaned);
    - every archive object comes from the recovery point its key names (metadata), never another;
    - every recovery point that is gone from the vault has a verified manifest and an archive of its size;
    - no AMI ever had a second store task while its first one's object was still there.
    When ``settled`` (after a finishing run): no staging objects left and every manifest's deletion confirmed.
    """
    s3 = boto3.client("s3")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    listed = objects(bucket)
    found = manifests(bucket)
    remaining = points(vault)
    for ami, doc in found.items():
        assert doc["verification"]["verified"] is True
        key = doc["archive"]["key"]
        assert key in listed, f"manifest of {ami} names a missing archive {key}"
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"]["coldvault-source-arn"] == doc["recovery_point"]["arn"]
        assert head["ContentLength"] == doc["archive"]["size"] == doc["staging"]["size"]
        arn = doc["recovery_point"]["arn"]
        if settled:
            assert doc["deletion"]["state"] == "confirmed", doc["deletion"]
            assert arn not in remaining or remaining[arn]["Status"] == "DELETING"
    for key in listed:
        if key.startswith(keys.ARCHIVE_PREFIX):
            ami = key.rsplit("/", 1)[-1][: -len(".bin")]
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head["Metadata"]["coldvault-source-arn"].endswith("/" + ami)
    if settled:
        assert [k for k in listed if keys.is_ami_id(k.removesuffix(".bin"))] == []
        assert [k for k in listed if k.startswith(keys.LEASE_PREFIX)] == []
    if one_store_each:
        assert all(n == 1 for n in store_task_counts().values()), store_task_counts()


def deleted_without_manifest(before: dict[str, dict[str, Any]], vault: str = VAULT) -> list[str]:
    """Recovery points present in ``before`` that are gone now without a verified manifest."""
    now = points(vault)
    found = manifests()
    gone = [arn for arn in before if arn not in now]
    return [arn for arn in gone if arn.rsplit("/", 1)[-1] not in found]

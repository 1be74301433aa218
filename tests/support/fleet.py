"""EC2 pieces the sandbox tests build on: a client that makes one attempt, a bucket, an instance with
given volumes (whose recovery point the admin API then makes)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from coldvault.sandbox.seed import BASE_AMI

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def ec2_client() -> Any:
    """An EC2 client that does not retry, so a test sees the sandbox's first answer."""
    return boto3.client("ec2", config=NO_RETRY)


def s3_with_bucket(bucket: str) -> Any:
    """An S3 client, and ``bucket`` created with it."""
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    return client


def run_instance(ec2: Any, volumes: list[tuple[str, int, bool]], tags: dict[str, str] | None = None) -> str:
    """The id of a new instance with ``volumes`` (device, GiB, encrypted) and, if given, ``tags``."""
    params: dict[str, Any] = {}
    if tags is not None:
        params["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    reservation = ec2.run_instances(
        ImageId=BASE_AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        BlockDeviceMappings=[
            {"DeviceName": d, "Ebs": {"VolumeSize": s, "Encrypted": e, "VolumeType": "gp3"}}
            for d, s, e in volumes
        ],
        **params,
    )
    return str(reservation["Instances"][0]["InstanceId"])

"""Shared by the archive benchmarks: an in-process sandbox, API call counting, bucket setup."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from coldvault.aws.session import AwsSession
from coldvault.sandbox.server import SandboxServer

PAB = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)


@contextmanager
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(host="127.0.0.1", port=0) as server:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": server.endpoint_url,
            }
        )
        yield server


def make_bucket(name: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PAB)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


class CallCounter:
    """Counts AWS operations with botocore's ``before-call`` event on every client of a session."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def attach(
        self, aws: AwsSession, services: tuple[str, ...] = ("backup", "ec2", "s3", "sqs", "sts")
    ) -> None:
        for service in services:
            aws.client(service).meta.events.register("before-call", self)

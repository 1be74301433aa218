"""S3 for deployments: the artifact bucket holding the Lambda package and the packaged template."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from coldvault.aws.errors import aws_call, error_code, translate
from coldvault.aws.permissions import permissions


class Artifacts:
    """The deployment's artifact bucket over a boto3 ``s3`` client (IAM actions declared per method)."""

    def __init__(self, client: Any, region: str) -> None:
        self.client = client
        self.region = region

    @permissions(
        "s3:ListBucket", "s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration"
    )
    def ensure_bucket(self, bucket: str) -> bool:
        """Create the bucket (private, encrypted) unless it exists; True when it was created."""
        try:
            self.client.head_bucket(Bucket=bucket)
            return False
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise translate(exc, "HeadBucket") from exc
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with aws_call("CreateBucket"):
            self.client.create_bucket(**kwargs)
        with aws_call("PutPublicAccessBlock"):
            self.client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        with aws_call("PutBucketEncryption"):
            self.client.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
        return True

    @permissions("s3:GetObject", "s3:PutObject")
    def upload(self, bucket: str, key: str, body: bytes) -> None:
        """Put ``body`` at ``key`` unless an object of the same size is there (keys are content-addressed)."""
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            if int(head.get("ContentLength", -1)) == len(body):
                return
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise translate(exc, "HeadObject") from exc
        with aws_call("PutObject"):
            self.client.put_object(Bucket=bucket, Key=key, Body=body)

    @permissions()
    def url(self, bucket: str, key: str) -> str:
        """The path-style HTTPS URL CloudFormation reads a template from."""
        return f"https://s3.{self.region}.amazonaws.com/{bucket}/{key}"

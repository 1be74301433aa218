"""GetBucketLocation's legacy answers name Regions: none is us-east-1, ``EU`` is eu-west-1.

The sandbox cannot make an ``EU`` bucket (S3 itself refuses new ones on regional endpoints), so the
adapter is driven by botocore's Stubber with the answer an old bucket gives."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from coldvault.aws.s3 import S3, region_of_location

PAB = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)


@pytest.mark.parametrize(
    ("constraint", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("eu-central-1", "eu-central-1")],
)
def test_location_constraints_name_regions(constraint: str | None, region: str) -> None:
    assert region_of_location(constraint) == region


def test_bucket_security_of_a_legacy_eu_bucket_is_in_eu_west_1() -> None:
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("head_bucket", {}, {"Bucket": "old-eu"})
        stub.add_response("get_bucket_location", {"LocationConstraint": "EU"}, {"Bucket": "old-eu"})
        stub.add_response(
            "get_public_access_block", {"PublicAccessBlockConfiguration": PAB}, {"Bucket": "old-eu"}
        )
        stub.add_response(
            "get_bucket_encryption",
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            },
            {"Bucket": "old-eu"},
        )
        security = S3(client).bucket_security("old-eu")
    assert security.region == "eu-west-1"

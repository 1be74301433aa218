"""DescribeImages and DescribeSnapshots are read to the last page. EC2 pages them (NextToken) and
recommends paginated calls; the sandbox (moto) never pages these two, so botocore's Stubber gives the
pages here."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from coldvault.aws.ec2 import DESCRIBE_IMAGES_PAGE, Ec2


def _client() -> object:
    return boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_describe_images_reads_every_page() -> None:
    client = _client()
    ids = ["ami-1", "ami-2"]
    params = {"Filters": [{"Name": "image-id", "Values": ids}], "MaxResults": DESCRIBE_IMAGES_PAGE}
    with Stubber(client) as stub:
        stub.add_response("describe_images", {"Images": [{"ImageId": "ami-1"}], "NextToken": "t"}, params)
        stub.add_response("describe_images", {"Images": [{"ImageId": "ami-2"}]}, {**params, "NextToken": "t"})
        found = Ec2(client).describe_images(ids)
    assert sorted(found) == ids


def test_snapshot_keys_read_every_page_and_only_encrypted_snapshots() -> None:
    client = _client()
    params = {
        "Filters": [{"Name": "snapshot-id", "Values": ["snap-1", "snap-2", "snap-3"]}],
        "MaxResults": 1000,
    }
    first = {
        "Snapshots": [{"SnapshotId": "snap-1", "Encrypted": True, "KmsKeyId": "arn:k1"}],
        "NextToken": "t",
    }
    second = {
        "Snapshots": [
            {"SnapshotId": "snap-2", "Encrypted": False},
            {"SnapshotId": "snap-3", "Encrypted": True, "KmsKeyId": "arn:k2"},
        ]
    }
    with Stubber(client) as stub:
        stub.add_response("describe_snapshots", first, params)
        stub.add_response("describe_snapshots", second, {**params, "NextToken": "t"})
        keys = Ec2(client).snapshot_keys(["snap-3", "snap-1", "snap-2", "snap-1"])
    assert keys == {"snap-1": "arn:k1", "snap-3": "arn:k2"}

"""Streaming a stack's events across pages. The sandbox (moto) answers ``DescribeStackEvents`` in one
page, so the paging AWS does (newest first, ``NextToken``) is expressed with botocore's Stubber here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import Stubber

from coldvault.aws.cloudformation import CloudFormation

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _event(n: int, status: str = "CREATE_COMPLETE", reason: str = "") -> dict[str, object]:
    return {
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "EventId": f"e{n}",
        "StackName": "s",
        "LogicalResourceId": f"R{n}",
        "ResourceType": "AWS::S3::Bucket",
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
        **({"ResourceStatusReason": reason} if reason else {}),
    }


def test_new_events_come_from_every_page_oldest_first_each_once() -> None:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    cfn = CloudFormation(client)
    with Stubber(client) as stub:
        # newest first: e6 e5 | e4 e3 | e2 … ; e2 was the newest before the deploy started
        stub.add_response(
            "describe_stack_events",
            {"StackEvents": [_event(6), _event(5)], "NextToken": "p2"},
            {"StackName": "s"},
        )
        stub.add_response(
            "describe_stack_events",
            {
                "StackEvents": [_event(4, "CREATE_FAILED", "BucketAlreadyExists"), _event(3)],
                "NextToken": "p3",
            },
            {"StackName": "s", "NextToken": "p2"},
        )
        stub.add_response(
            "describe_stack_events",
            {"StackEvents": [_event(2), _event(1)]},
            {"StackName": "s", "NextToken": "p3"},
        )
        events = cfn.events_since("s", "e2")
        stub.add_response(
            "describe_stack_events", {"StackEvents": [_event(7), _event(6)]}, {"StackName": "s"}
        )
        later = cfn.events_since("s", "e6")
    assert [e.event_id for e in events] == ["e3", "e4", "e5", "e6"]
    assert [e.event_id for e in later] == ["e7"]
    assert cfn.failure_reasons("s", events) == ["R4: BucketAlreadyExists"]

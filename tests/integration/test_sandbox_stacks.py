"""The sandbox's CloudFormation ends stacks as AWS does: parameter values are strings (``0`` survives)
checked against their constraints, a failed resource rolls the stack back (``ROLLBACK_COMPLETE`` /
``UPDATE_ROLLBACK_COMPLETE``, with the resource's failure event), and an update with nothing to change
is ``ValidationError`` "No updates are to be performed."."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.shapes import shape_errors

pytestmark = pytest.mark.integration

TEMPLATE = {
    "Parameters": {
        "Days": {"Type": "Number", "MinValue": 0, "MaxValue": 36500, "Default": 90},
        "BucketName": {"Type": "String"},
        "Email": {"Type": "String", "Default": ""},
        "Mode": {"Type": "String", "AllowedValues": ["fast", "slow"], "Default": "fast"},
    },
    "Conditions": {"HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}},
    "Resources": {
        "DaysParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/stack/days", "Type": "String", "Value": {"Ref": "Days"}},
        },
        "EmailParameter": {
            "Type": "AWS::SSM::Parameter",
            "Condition": "HasEmail",
            "Properties": {"Name": "/stack/email", "Type": "String", "Value": {"Ref": "Email"}},
        },
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "DependsOn": "DaysParameter",
            "Properties": {"BucketName": {"Ref": "BucketName"}},
        },
    },
}
BODY = json.dumps(TEMPLATE)


def _params(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _stack(cfn: Any, name: str = "st") -> dict[str, Any]:
    response = cfn.describe_stacks(StackName=name)
    assert shape_errors("cloudformation", "DescribeStacks", response) == []
    return dict(response["Stacks"][0])


def _events(cfn: Any, name: str = "st") -> list[tuple[str, str, str]]:
    response = cfn.describe_stack_events(StackName=name)
    assert shape_errors("cloudformation", "DescribeStackEvents", response) == []
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
        for e in response["StackEvents"]
    ]


def _ssm(name: str) -> str | None:
    try:
        return str(boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError:
        return None


def test_a_zero_number_parameter_reaches_resources_as_a_string(aws_env: dict[str, str]) -> None:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(Days="0", BucketName="zero-days"))
    stack = _stack(cfn)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values == {"Days": "0", "BucketName": "zero-days", "Email": "", "Mode": "fast"}
    assert _ssm("/stack/days") == "0"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Days": "-1"}, "Parameter 'Days' must be a number not less than 0"),
        ({"Days": "many"}, "Parameter 'Days' must be a number"),
        ({"Mode": "medium"}, "Parameter 'Mode' must be one of AllowedValues"),
        ({"Unknown": "x"}, "Parameters: [Unknown] do not exist in the template"),
    ],
)
def test_parameters_breaking_their_constraints_are_refused_before_anything_is_made(
    aws_env: dict[str, str], values: dict[str, str], message: str
) -> None:
    cfn = boto3.client("cloudformation")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="b-1", **values))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == message
    assert cfn.describe_stacks()["Stacks"] == []
    assert _ssm("/stack/days") is None


def test_a_failed_create_rolls_back_and_the_stack_must_be_deleted_before_a_new_create(
    aws_env: dict[str, str],
) -> None:
    boto3.client("s3").create_bucket(Bucket="taken")
    cfn = boto3.client("cloudformation")
    stack_id = cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="taken"))[
        "StackId"
    ]
    stack = _stack(cfn)
    assert stack["StackId"] == stack_id
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = "The following resource(s) failed to create: [Bucket]. Rollback requested by user."
    assert stack["StackStatusReason"] == reason
    events = _events(cfn)  # newest first
    assert [(r, s) for r, s, _ in events] == [
        ("st", "ROLLBACK_COMPLETE"),
        ("st", "ROLLBACK_IN_PROGRESS"),
        ("Bucket", "CREATE_FAILED"),
        ("st", "CREATE_IN_PROGRESS"),
    ]
    assert events[2][2].startswith("BucketAlreadyExists: ")
    assert _ssm("/stack/days") is None  # what was created is deleted

    with pytest.raises(ClientError) as caught:
        cfn.update_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="free-1"))
    assert "is in ROLLBACK_COMPLETE state and can not be updated" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="free-1"))
    assert caught.value.response["Error"]["Code"] == "AlreadyExistsException"

    cfn.delete_stack(StackName="st")
    cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="free-1"))
    assert _stack(cfn)["StackStatus"] == "CREATE_COMPLETE"


def test_a_failed_update_rolls_back_to_the_previous_values_and_a_corrected_update_works(
    aws_env: dict[str, str],
) -> None:
    boto3.client("s3").create_bucket(Bucket="taken")
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(Days="7", BucketName="mine-1"))
    cfn.update_stack(StackName="st", TemplateBody=BODY, Parameters=_params(Days="8", BucketName="taken"))
    stack = _stack(cfn)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["BucketName"] == "mine-1"
    statuses = [(r, s) for r, s, _ in _events(cfn)][:4]
    assert statuses == [
        ("st", "UPDATE_ROLLBACK_COMPLETE"),
        ("st", "UPDATE_ROLLBACK_IN_PROGRESS"),
        ("Bucket", "UPDATE_FAILED"),
        ("st", "UPDATE_IN_PROGRESS"),
    ]
    assert _ssm("/stack/days") == "7"
    assert "mine-1" in {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}

    cfn.update_stack(
        StackName="st", TemplateBody=BODY, Parameters=_params(Days="0", BucketName="mine-1", Email="a@b.c")
    )
    assert _stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    assert (_ssm("/stack/days"), _ssm("/stack/email")) == ("0", "a@b.c")  # a condition turned true
    cfn.update_stack(StackName="st", TemplateBody=BODY, Parameters=_params(Days="0", BucketName="mine-1"))
    assert _stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"
    assert _ssm("/stack/email") is None  # and false again


def test_an_update_with_nothing_to_change_is_a_validation_error(aws_env: dict[str, str]) -> None:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="same-1"))
    for parameters in (
        _params(BucketName="same-1"),  # defaults unchanged
        _params(BucketName="same-1", Days="90", Mode="fast"),  # the defaults given explicitly
        [{"ParameterKey": "BucketName", "UsePreviousValue": True}],
    ):
        with pytest.raises(ClientError) as caught:
            cfn.update_stack(StackName="st", TemplateBody=BODY, Parameters=parameters)
        error = caught.value.response
        assert (error["Error"]["Code"], error["Error"]["Message"]) == (
            "ValidationError",
            "No updates are to be performed.",
        )
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _stack(cfn)["StackStatus"] == "CREATE_COMPLETE"
    cfn.update_stack(StackName="st", TemplateBody=BODY, Parameters=_params(BucketName="same-1", Days="3"))
    assert _stack(cfn)["StackStatus"] == "UPDATE_COMPLETE"

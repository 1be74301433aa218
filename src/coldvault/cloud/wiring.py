"""What ties the template, the state machine and the code together, declared once and tested.

- :data:`TASK_STEPS`: each Task state of ``archive.asl.json``, the handler it invokes and the pipeline
  step that handler calls, in the order the CLI engine runs them.
- :data:`GRANTED_ON_OUR_BEHALF`: every IAM action the function role grants that no coldvault code calls
  itself, with the reason (AWS uses it on our behalf). The wiring test checks that the role grants
  exactly the actions the archive adapters name plus these, so the policy cannot drift.
- :func:`code_actions`: the IAM actions the archive adapters call, read from their declarations
  (an ``IAM_ACTIONS`` table or the ````service:Action```` named in each method's docstring).
"""

from __future__ import annotations

import importlib
import inspect
import re

TASK_STEPS: tuple[tuple[str, str, str], ...] = (
    # (Task state, handler in coldvault.cloud.handlers, pipeline step)
    ("ListCandidates", "list_candidates", "coldvault.pipeline.listing.list_candidates"),
    ("StartStore", "start_store", "coldvault.pipeline.store.start_store"),
    ("CheckStore", "check_store", "coldvault.pipeline.store.check_stores"),
    ("CopyArchive", "copy_archive", "coldvault.pipeline.copy.copy_archive"),
    ("VerifyArchive", "verify_archive", "coldvault.pipeline.verify.verify_archive"),
    ("DeleteRecoveryPoint", "delete_recovery_point", "coldvault.pipeline.finish.delete_recovery_point"),
    ("PublishResult", "publish_result", "coldvault.pipeline.finish.publish_result"),
    ("RecordFailure", "record_failure", "coldvault.pipeline.finish.publish_result"),
    ("WriteReport", "write_report", "coldvault.report.write_report"),
)

# The adapters the archive functions use (the restore path has its own functions and role).
ARCHIVE_ADAPTERS = (
    "coldvault.aws.backup",
    "coldvault.aws.ec2",
    "coldvault.aws.kms",
    "coldvault.aws.s3",
    "coldvault.aws.sqs",
    "coldvault.aws.ssm",
    "coldvault.aws.sts",
)

GRANTED_ON_OUR_BEHALF: dict[str, str] = {
    "logs:CreateLogStream": "Lambda writes the functions' logs to their log group",
    "logs:PutLogEvents": "Lambda writes the functions' logs to their log group",
    "ec2:DescribeTags": "EC2 reads the AMI's and snapshots' tags to put them on the stored object",
    "ec2:GetEbsEncryptionByDefault": "EC2 checks the account's EBS encryption while storing an AMI",
    "ebs:GetSnapshotBlock": "the store task reads the AMI's snapshots through the EBS direct APIs",
    "ebs:ListSnapshotBlocks": "the store task reads the AMI's snapshots through the EBS direct APIs",
    "iam:CreateServiceLinkedRole": (
        "AWS Backup creates its service-linked role to delete a point (EXPIRED ones too), which then"
        " deregisters the AMI and deletes its snapshots: the caller needs no ec2 delete action"
    ),
    "kms:Decrypt": "S3 decrypts SSE-KMS objects the copy reads; EC2/EBS read the AMI's encrypted snapshots",
    "kms:GenerateDataKey": "S3 encrypts SSE-KMS objects the store and copy write; EBS under the AMI's key",
    "kms:GenerateDataKeyWithoutPlaintext": "EC2/EBS use the AMI's snapshot key while the store task reads it",
    "kms:ReEncryptFrom": "EC2/EBS use the AMI's snapshot key while the store task reads it",
    "kms:ReEncryptTo": "EC2/EBS use the AMI's snapshot key while the store task reads it",
    "kms:CreateGrant": "EC2/EBS grant themselves the AMI's snapshot key for the store (AWS resources only)",
}

_ACTION = re.compile(r"``([a-z0-9-]+:[A-Za-z0-9]+)``")


def module_actions(module_name: str) -> set[str]:
    """The IAM actions one adapter module declares (``IAM_ACTIONS`` and method docstrings)."""
    module = importlib.import_module(module_name)
    found: set[str] = set(_ACTION.findall(inspect.getdoc(module) or ""))
    table = getattr(module, "IAM_ACTIONS", None)
    if isinstance(table, dict):
        for actions in table.values():
            found.update(actions)
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module_name:
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") and name != "__init__":
                continue
            found.update(_ACTION.findall(inspect.getdoc(member) or ""))
    for _, func in inspect.getmembers(module, inspect.isfunction):
        if func.__module__ == module_name:
            found.update(_ACTION.findall(inspect.getdoc(func) or ""))
    return found


def code_actions() -> set[str]:
    """The IAM actions the archive functions' code calls (``sts:GetCallerIdentity`` needs none)."""
    actions: set[str] = set()
    for name in ARCHIVE_ADAPTERS:
        actions |= module_actions(name)
    actions.discard("sts:GetCallerIdentity")
    return actions

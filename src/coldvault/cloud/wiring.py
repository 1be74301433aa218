"""What ties the template, the state machines and the code together, declared once and tested.

- :data:`TASK_STEPS`: each Task state of ``archive.asl.json``, the handler it invokes and the pipeline
  step that handler calls, in the order the CLI engine runs them.
- :data:`ROLES`: each Lambda role of ``template.yaml``, the handlers that run under it, and the IAM
  actions it grants that no adapter method declares, each with its reason (AWS uses them on the
  functions' behalf). :func:`called_methods` finds the adapter methods a role's functions call and
  :func:`code_actions` the actions those methods declare (``@permissions``, see
  :mod:`coldvault.aws.permissions`). ``tests/cloud/test_wiring.py`` checks that each role grants
  exactly these actions plus its table, so no policy can drift from the code.

A role's calls are found by reading its code, not by running it: starting from its handlers (and
the code that runs on import), every function or method of the modules the handler module imports
(transitively, the adapters left out) whose name is used is followed, and every name so reached that
names a method of an adapter the functions use counts as a call of it. Matching by name
over-approximates (a method of the same name on another object counts) but misses no call, nor a
method passed on to be called (``pool.map(self.state, …)``). A module whose code the role's functions
never run can be listed in the role's ``not_run`` table with the reason.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from coldvault.aws.backup import Backup
from coldvault.aws.ebs import Ebs
from coldvault.aws.ec2 import Ec2
from coldvault.aws.kms import Kms
from coldvault.aws.permissions import adapter_methods
from coldvault.aws.s3 import S3
from coldvault.aws.sqs import Sqs
from coldvault.aws.ssm import Ssm
from coldvault.aws.sts import Sts

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

# The adapters a Lambda function can reach: the services bundle's, the settings' SSM and STS, and the
# EBS direct APIs (test_wiring checks every adapter module a role's code imports is covered).
FUNCTION_ADAPTERS: tuple[type, ...] = (Backup, Ebs, Ec2, Kms, S3, Sqs, Ssm, Sts)

_LOGS = "Lambda writes the functions' logs to their log group"
_SNAPSHOT_KEY = "EC2/EBS use the AMI's snapshot key while the store task reads its snapshots"


@dataclass(frozen=True)
class Role:
    """One Lambda role of the template and the code that runs under it."""

    resource: str  # the AWS::IAM::Role's logical id
    handlers: str  # the module of its functions' handlers
    granted_on_our_behalf: dict[str, str]  # action -> why it is granted though no method declares it
    not_run: dict[str, str] = field(default_factory=dict)  # module -> why its calls are not made


ARCHIVE = Role(
    resource="FunctionRole",
    handlers="coldvault.cloud.handlers",
    granted_on_our_behalf={
        "logs:CreateLogStream": _LOGS,
        "logs:PutLogEvents": _LOGS,
        "iam:CreateServiceLinkedRole": (
            "AWS Backup creates its service-linked role to delete a point (EXPIRED ones too), which then"
            " deregisters the AMI and deletes its snapshots: the caller needs no ec2 delete action"
        ),
        "kms:Decrypt": "S3 decrypts SSE-KMS objects the copy reads; EC2/EBS read encrypted snapshots",
        "kms:GenerateDataKey": "S3 encrypts SSE-KMS objects the store and copy write; EBS, the AMI's key",
        "kms:GenerateDataKeyWithoutPlaintext": _SNAPSHOT_KEY,
        "kms:ReEncryptFrom": _SNAPSHOT_KEY,
        "kms:ReEncryptTo": _SNAPSHOT_KEY,
        "kms:CreateGrant": "EC2/EBS grant themselves the AMI's snapshot key (AWS resources only)",
    },
)

RESTORE = Role(
    resource="RestoreFunctionRole",
    handlers="coldvault.cloud.restore_handlers",
    granted_on_our_behalf={
        "logs:CreateLogStream": _LOGS,
        "logs:PutLogEvents": _LOGS,
        "kms:Decrypt": "EC2 reads encrypted snapshots while copying; S3 decrypts SSE-KMS archives",
        "kms:GenerateDataKey": "S3 encrypts the SSE-KMS report objects (only when KmsKeyArn is set)",
        "kms:GenerateDataKeyWithoutPlaintext": "EC2 encrypts the snapshots of an encrypted copy",
        "kms:ReEncryptFrom": "EC2 re-encrypts snapshots under the copy's KMS key",
        "kms:ReEncryptTo": "EC2 re-encrypts snapshots under the copy's KMS key",
    },
)

ROLES: tuple[Role, ...] = (ARCHIVE, RESTORE)


def _source(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec is not None and spec.origin else None


def _tree(module: str) -> ast.Module:
    path = _source(module)
    return ast.parse(path.read_text()) if path else ast.Module(body=[], type_ignores=[])


def _imports(module: str) -> set[str]:
    """The coldvault modules ``module`` imports (``from package import submodule`` included)."""
    found: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            package = _source(node.module)
            if package is not None and package.name == "__init__.py":  # a submodule imported by name
                found.update(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                )
    return {name for name in found if name == "coldvault" or name.startswith("coldvault.")}


def role_modules(role: Role) -> list[str]:
    """The modules whose calls a role's functions make: its handler module and what it imports,
    transitively, without the adapters (``coldvault.aws``) and the role's ``not_run`` modules."""
    seen: set[str] = set()
    todo = [role.handlers]
    while todo:
        module = todo.pop()
        if module in seen or module.startswith("coldvault.aws") or module in role.not_run:
            continue
        seen.add(module)
        todo.extend(_imports(module))
    return sorted(seen)


def _referenced(node: ast.AST) -> set[str]:
    """Every name and attribute ``node`` uses (a call, or a function passed on to be called)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, ast.Name):
            found.add(child.id)
    return found


def _definitions(module: str) -> tuple[dict[str, set[str]], set[str]]:
    """(function or method name -> the names its bodies use, the names module- and class-level code
    uses, which runs on import)."""
    bodies: dict[str, set[str]] = {}
    on_import: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                bodies.setdefault(statement.name, set()).update(_referenced(statement))
            elif isinstance(statement, ast.ClassDef):
                visit(statement.body)
            else:
                on_import.update(_referenced(statement))

    visit(_tree(module).body)
    return bodies, on_import


def reached_names(role: Role) -> set[str]:
    """The names the role's functions can reach: from its handlers and what runs on import, through
    every function or method of its modules whose name is used (by name: an over-approximation)."""
    bodies: dict[str, set[str]] = {}
    reached: set[str] = set()
    for module in role_modules(role):
        defined, on_import = _definitions(module)
        for name, names in defined.items():
            bodies.setdefault(name, set()).update(names)
        reached |= on_import
    reached |= set(_definitions(role.handlers)[0])  # every handler is an entry point
    todo = list(reached)
    while todo:
        for used in bodies.get(todo.pop(), ()):
            if used not in reached:
                reached.add(used)
                todo.append(used)
    return reached


def called_methods(role: Role) -> dict[str, frozenset[str]]:
    """``Adapter.method`` -> its declared IAM actions, for every adapter method the role's code reaches."""
    names = reached_names(role)
    found: dict[str, frozenset[str]] = {}
    for adapter in FUNCTION_ADAPTERS:
        for name, actions in adapter_methods(adapter).items():
            if name in names:
                found[f"{adapter.__name__}.{name}"] = actions or frozenset()
    return found


def code_actions(role: Role) -> set[str]:
    """The IAM actions the role's functions call, as the adapter methods they call declare them."""
    actions: set[str] = set()
    for declared in called_methods(role).values():
        actions |= declared
    return actions

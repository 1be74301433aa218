"""Request parsing and response serialising for the AWS Backup operations the sandbox adds.

Each function becomes a method of moto's ``BackupResponse`` (moto dispatches on the snake-cased
operation name, found from the HTTP method and path through botocore's model), and
:func:`install` adds the URL patterns to ``moto.backup.urls.url_paths``. Logic and state live in
:mod:`coldvault.sandbox.backup_models` and :mod:`coldvault.sandbox.backup_listing`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from coldvault.sandbox import backup_legal_holds
from coldvault.sandbox import backup_models as models
from coldvault.sandbox.backup_listing import list_backup_jobs, list_recovery_points
from coldvault.sandbox.errors import (
    InvalidParameterValueException,
    MissingParameterValueException,
    ResourceNotFoundException,
)
from coldvault.sandbox.state import STATE

# Server mode: Flask rules (moto strips "$"; strict_slashes off, so "/x/" also answers "/x").
# In-process mode (mock_aws): regexes matched against the URL, hence also "/backup-jobs$".
URL_PATHS = {
    "{0}/backup-jobs$": "dispatch",
    "{0}/backup-jobs/": "dispatch",
    "{0}/backup-jobs/(?P<backup_job_id>[^/]+)$": "dispatch",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/": "dispatch",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recovery_point_arn>.+)$": "dispatch",
}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


JSON_HEADERS = {"Content-Type": "application/json"}
Response = tuple[str, dict[str, str]]


def _dumps(body: dict[str, Any]) -> Response:
    return json.dumps({k: v for k, v in body.items() if v is not None}, default=_default), dict(JSON_HEADERS)


def _query(self: Any, names: dict[str, str]) -> dict[str, str | None]:
    """Model member name -> the query-string value sent under its location name."""
    out: dict[str, str | None] = {}
    for member, location in names.items():
        values = self.querystring.get(location)
        out[member] = values[0] if isinstance(values, list) and values else values
    return out


def _path_parts(self: Any) -> list[str]:
    """The raw path split on '/', each part percent-decoded (ARNs arrive with '/' encoded)."""
    return [unquote(part) for part in self.parsed_url.path.split("/")]


def _vault_and_arn(self: Any) -> tuple[str, str]:
    path = self.parsed_url.path
    head, _, tail = path.partition("/recovery-points/")
    return unquote(head.rsplit("/", 1)[-1]), unquote(tail)


def start_backup_job(self: Any) -> Response:
    params = json.loads(self.body or "{}")
    for required in ("BackupVaultName", "ResourceArn", "IamRoleArn"):
        if not params.get(required):
            raise MissingParameterValueException(f"{required} is required")
    models.check_fault("StartBackupJob", params["ResourceArn"])
    job = models.start_backup_job(
        self.backup_backend,
        vault_name=params["BackupVaultName"],
        resource_arn=params["ResourceArn"],
        iam_role_arn=params["IamRoleArn"],
        lifecycle=params.get("Lifecycle"),
        recovery_point_tags=params.get("RecoveryPointTags"),
        backup_options=params.get("BackupOptions"),
    )
    return _dumps(
        {
            "BackupJobId": job.job_id,
            "RecoveryPointArn": job.recovery_point_arn,
            "CreationDate": job.creation_date,
            "IsParent": False,
        }
    )


def describe_backup_job(self: Any) -> Response:
    job_id = _path_parts(self)[-1]
    models.check_fault("DescribeBackupJob", job_id)
    backend = self.backup_backend
    models.refresh_jobs(backend)
    job = models.store_for(backend).jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(f"Cannot find backup job with ID {job_id}")
    return _dumps(job.to_dict())


def list_backup_jobs_(self: Any) -> Response:
    models.check_fault("ListBackupJobs")
    query = _query(
        self,
        {
            "NextToken": "nextToken",
            "MaxResults": "maxResults",
            "ByResourceArn": "resourceArn",
            "ByState": "state",
            "ByBackupVaultName": "backupVaultName",
            "ByCreatedBefore": "createdBefore",
            "ByCreatedAfter": "createdAfter",
            "ByResourceType": "resourceType",
            "ByAccountId": "accountId",
            "ByCompleteAfter": "completeAfter",
            "ByCompleteBefore": "completeBefore",
            "ByParentJobId": "parentJobId",
            "ByMessageCategory": "messageCategory",
        },
    )
    jobs, token = list_backup_jobs(self.backup_backend, query)
    return _dumps({"BackupJobs": [j.to_dict() for j in jobs], "NextToken": token})


def list_recovery_points_by_backup_vault(self: Any) -> Response:
    vault_name, _ = _vault_and_arn(self)
    models.check_fault("ListRecoveryPointsByBackupVault", vault_name)
    query = _query(
        self,
        {
            "BackupVaultAccountId": "backupVaultAccountId",
            "NextToken": "nextToken",
            "MaxResults": "maxResults",
            "ByResourceArn": "resourceArn",
            "ByResourceType": "resourceType",
            "ByBackupPlanId": "backupPlanId",
            "ByCreatedBefore": "createdBefore",
            "ByCreatedAfter": "createdAfter",
            "ByParentRecoveryPointArn": "parentRecoveryPointArn",
        },
    )
    points, token = list_recovery_points(self.backup_backend, vault_name, query)
    return _dumps({"RecoveryPoints": [p.to_dict() for p in points], "NextToken": token})


def describe_recovery_point(self: Any) -> Response:
    vault_name, arn = _vault_and_arn(self)
    models.check_fault("DescribeRecoveryPoint", arn, arn.rsplit("/", 1)[-1])
    account = _query(self, {"BackupVaultAccountId": "backupVaultAccountId"})["BackupVaultAccountId"]
    if account and account != self.backup_backend.account_id:
        raise ResourceNotFoundException(f"Backup vault {vault_name} is not found in account {account}")
    point = models.find_point(self.backup_backend, vault_name, arn)
    return _dumps(point.describe())


def delete_recovery_point(self: Any) -> Response:
    vault_name, arn = _vault_and_arn(self)
    models.delete_recovery_point(self.backup_backend, vault_name, arn)
    return "", dict(JSON_HEADERS)


def make_list_tags(original: Any) -> Any:
    """ListTags: refused for recovery points whose ARN is not AWS Backup's (``arn:aws:ec2:…``), as the
    model's documentation warns ("it may return one of the exceptions listed below"), unless the
    ``list_tags_of_ec2_points`` setting allows it; a recovery point's tags from the sandbox's store;
    anything else as moto does."""

    def list_tags(self: Any) -> Response | str:
        parts = self.parsed_url.path.split("/tags/", 1)[-1].rstrip("/")
        arn = unquote(parts)
        models.check_fault("ListTags", arn, arn.rsplit("/", 1)[-1])
        if arn.startswith("arn:aws:ec2:") and not STATE.settings.list_tags_of_ec2_points:
            raise InvalidParameterValueException(
                f"ListTags is not supported for {arn}: only resources with full AWS Backup management "
                "(ARNs beginning arn:aws:backup) can be listed; read the tags of the EC2 resource itself."
            )
        point = models.point_by_arn(self.backup_backend, arn)
        if point is None:
            if arn.startswith("arn:aws:ec2:"):
                raise ResourceNotFoundException(f"Recovery point {arn} not found")
            return str(original(self))
        return _dumps({"Tags": dict(point.tags)})

    list_tags._coldvault = True  # type: ignore[attr-defined]
    return list_tags


def install() -> None:
    """Add the operations to moto's BackupResponse and the routes to moto.backup.urls (idempotent)."""
    from moto.backup import urls
    from moto.backup.models import Vault
    from moto.backup.responses import BackupResponse

    # DescribeBackupVault serialises the Vault object by member name: give it the count's name.
    Vault.number_of_recovery_points = property(lambda vault: vault.num_of_recovery_points)
    from moto.backup.models import BackupBackend

    BackupBackend.delete_backup_vault = models.delete_backup_vault
    handlers = {
        "start_backup_job": start_backup_job,
        "describe_backup_job": describe_backup_job,
        "list_backup_jobs": list_backup_jobs_,
        "list_recovery_points_by_backup_vault": list_recovery_points_by_backup_vault,
        "describe_recovery_point": describe_recovery_point,
        "delete_recovery_point": delete_recovery_point,
    }
    for patterns, operations in (
        (URL_PATHS, handlers),
        (backup_legal_holds.URL_PATHS, backup_legal_holds.HANDLERS),
    ):
        for pattern in patterns:
            urls.url_paths.setdefault(pattern, BackupResponse.dispatch)
        for name, handler in operations.items():
            setattr(BackupResponse, name, handler)
    if not getattr(BackupResponse.list_tags, "_coldvault", False):
        BackupResponse.list_tags = make_list_tags(BackupResponse.list_tags)
    backup_legal_holds.install()  # legal holds, and DeleteRecoveryPoint refused for a held point

"""Filtering and pagination of recovery points and backup jobs, as AWS Backup's List* do them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from coldvault.sandbox.backup_models import (
    BackupJob,
    RecoveryPoint,
    refresh_jobs,
    store_for,
    vault_or_raise,
)
from coldvault.sandbox.errors import InvalidParameterValueException, ResourceNotFoundException

T = TypeVar("T")
MAX_RESULTS = 1000


def parse_time(value: str | None, name: str) -> datetime | None:
    """A query-string timestamp (ISO 8601 as botocore sends it, or epoch seconds)."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidParameterValueException(f"Invalid timestamp for {name}: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def paginate(
    items: Sequence[T], max_results: str | None, next_token: str | None
) -> tuple[list[T], str | None]:
    size = MAX_RESULTS
    if max_results not in (None, ""):
        try:
            size = int(max_results)
        except ValueError as exc:
            raise InvalidParameterValueException(f"Invalid MaxResults: {max_results}") from exc
        if not 1 <= size <= MAX_RESULTS:
            raise InvalidParameterValueException(f"MaxResults must be between 1 and {MAX_RESULTS}")
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode().removeprefix("offset:"))
        except ValueError as exc:
            raise InvalidParameterValueException("Invalid NextToken") from exc
    page = list(items[start : start + size])
    end = start + size
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return page, token


def list_recovery_points(
    backend: Any, vault_name: str, query: dict[str, str | None]
) -> tuple[list[RecoveryPoint], str | None]:
    """``query`` keys are the model's member names (``ByResourceArn``… ``MaxResults``, ``NextToken``)."""
    vault_or_raise(backend, vault_name)
    account = query.get("BackupVaultAccountId")
    if account and account != backend.account_id:
        raise ResourceNotFoundException(f"Backup vault {vault_name} is not found in account {account}")
    refresh_jobs(backend)
    before = parse_time(query.get("ByCreatedBefore"), "ByCreatedBefore")
    after = parse_time(query.get("ByCreatedAfter"), "ByCreatedAfter")
    resource_type = query.get("ByResourceType")
    resource_arn = query.get("ByResourceArn")
    plan_id = query.get("ByBackupPlanId")
    parent = query.get("ByParentRecoveryPointArn")
    with store_for(backend).lock:
        points = list(store_for(backend).points.get(vault_name, {}).values())
    selected = [
        p
        for p in points
        if (not resource_arn or p.resource_arn == resource_arn)
        and (not resource_type or p.resource_type == resource_type)
        and (not plan_id or p.created_by.get("BackupPlanId") == plan_id)
        and (not parent or p.parent_arn == parent)
        and (before is None or p.creation_date < before)
        and (after is None or p.creation_date > after)
    ]
    selected.sort(key=lambda p: p.creation_date, reverse=True)
    return paginate(selected, query.get("MaxResults"), query.get("NextToken"))


def list_backup_jobs(backend: Any, query: dict[str, str | None]) -> tuple[list[BackupJob], str | None]:
    refresh_jobs(backend)
    account = query.get("ByAccountId")
    checks: list[tuple[str | None, str]] = [
        (query.get("ByResourceArn"), "resource_arn"),
        (query.get("ByState"), "state"),
        (query.get("ByBackupVaultName"), "vault_name"),
        (query.get("ByResourceType"), "resource_type"),
        (query.get("ByMessageCategory"), "message_category"),
    ]
    created_before = parse_time(query.get("ByCreatedBefore"), "ByCreatedBefore")
    created_after = parse_time(query.get("ByCreatedAfter"), "ByCreatedAfter")
    complete_before = parse_time(query.get("ByCompleteBefore"), "ByCompleteBefore")
    complete_after = parse_time(query.get("ByCompleteAfter"), "ByCompleteAfter")
    parent = query.get("ByParentJobId")

    def keep(job: BackupJob) -> bool:
        if account and account not in ("*", job.account_id):
            return False
        if parent:  # no job of this sandbox has child jobs
            return False
        if any(wanted and getattr(job, attr) != wanted for wanted, attr in checks):
            return False
        if created_before is not None and not job.creation_date < created_before:
            return False
        if created_after is not None and not job.creation_date > created_after:
            return False
        done = job.completion_date
        if complete_before is not None and (done is None or not done < complete_before):
            return False
        return complete_after is None or (done is not None and done > complete_after)

    with store_for(backend).lock:
        jobs = [j for j in store_for(backend).jobs.values() if keep(j)]
    jobs.sort(key=lambda j: j.creation_date, reverse=True)
    return paginate(jobs, query.get("MaxResults"), query.get("NextToken"))

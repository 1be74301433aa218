"""The EC2 query-protocol operations moto lacks: ``CreateStoreImageTask``,
``DescribeStoreImageTasks`` and ``CreateRestoreImageTask``; and ``DeregisterImage`` with
``DeleteAssociatedSnapshots`` (moto ignores the flag; EC2 deletes the image's snapshots unless another
AMI uses them, botocore's ``DeregisterImageRequest``).

As in moto, this module only parses requests and serialises results; the rules live in
:mod:`coldvault.sandbox.ec2_models` and :mod:`coldvault.sandbox.ec2_restore`. :func:`install`
adds the three methods to moto's ``EC2Response`` (which dispatches on ``Action`` to the method of
that name), so they work both in-process (``mock_aws``) and in moto's server.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from coldvault.sandbox import ec2_models, ec2_restore
from coldvault.sandbox.ec2_models import ImageTaskError

MAX_RESULTS_RANGE = (1, 200)  # botocore's model: DescribeStoreImageTasksRequestMaxResults


def _error(self: Any, exc: ImageTaskError) -> Any:
    """EC2's error answer (``<Response><Errors><Error><Code>…``) with the error's HTTP status
    (moto would answer 400 for every EC2 error code, as EC2's model has no error shapes)."""
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError

    _status, headers, body = self.serialized(ActionResult(EC2ClientError(exc.code, exc.message)))
    headers["status"] = exc.status
    return body, headers


def _result(value: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in items or []}


def create_store_image_task(self: Any) -> Any:
    try:
        task = ec2_models.create_store_task(
            self.ec2_backend,
            self.current_account,
            self.region,
            image_id=str(self._get_param("ImageId", "")),
            bucket=str(self._get_param("Bucket", "")),
            tags=_tags(self._get_param("S3ObjectTags", [])),
            dry_run=bool(self._get_bool_param("DryRun", False)),
        )
    except ImageTaskError as e:
        return _error(self, e)
    return _result({"ObjectKey": task.object_key})


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"store-tasks:{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "store-tasks" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise ImageTaskError("InvalidPaginationToken", f"The pagination token {token!r} is invalid.") from e


def describe_store_image_tasks(self: Any) -> Any:
    try:
        image_ids = [str(i) for i in self._get_param("ImageIds", []) or []]
        max_results = self._get_int_param("MaxResults")
        dry_run = bool(self._get_bool_param("DryRun", False))
        ec2_models.check_faults_and_dry_run("DescribeStoreImageTasks", tuple(image_ids), dry_run)
        if image_ids and max_results is not None:
            raise ImageTaskError(
                "InvalidParameterCombination",
                "The parameter MaxResults cannot be used with the parameter ImageIds.",
            )
        low, high = MAX_RESULTS_RANGE
        if max_results is not None and not low <= max_results <= high:
            raise ImageTaskError(
                "InvalidParameterValue",
                f"Value ( {max_results} ) for parameter MaxResults is invalid. "
                f"Parameter must be between {low} and {high}.",
            )
        filters = {} if image_ids else self._filters_from_querystring()
        found = ec2_models.describe_store_tasks(self.ec2_backend, self.current_account, image_ids, filters)
        offset = _page_offset(self._get_param("NextToken"))
    except ImageTaskError as e:
        return _error(self, e)
    page_size = max_results if max_results is not None else high
    page = found if image_ids else found[offset : offset + page_size]
    results = []
    for task, state, percentage in page:
        item: dict[str, Any] = {
            "AmiId": task.ami_id,
            "TaskStartTime": task.start_time,
            "Bucket": task.bucket,
            "S3objectKey": task.object_key,
            "ProgressPercentage": percentage,
            "StoreTaskState": state,
        }
        if state == ec2_models.FAILED:
            item["StoreTaskFailureReason"] = task.failure_reason
        results.append(item)
    body: dict[str, Any] = {"StoreImageTaskResults": results}
    if not image_ids and offset + page_size < len(found):
        body["NextToken"] = _page_token(offset + page_size)
    return _result(body)


def create_restore_image_task(self: Any) -> Any:
    name = self._get_param("Name")
    try:
        image = ec2_restore.create_restore_task(
            self.ec2_backend,
            self.current_account,
            self.region,
            bucket=str(self._get_param("Bucket", "")),
            object_key=str(self._get_param("ObjectKey", "")),
            name=None if name is None else str(name),
            tag_specifications=list(self._get_param("TagSpecifications", []) or []),
            dry_run=bool(self._get_bool_param("DryRun", False)),
        )
    except ImageTaskError as e:
        return _error(self, e)
    return _result({"ImageId": image.id})


def _image_snapshots(image: Any) -> set[str]:
    snapshots = getattr(image, "snapshots", None)
    if snapshots is None:
        snapshots = [image.ebs_snapshot] if getattr(image, "ebs_snapshot", None) is not None else []
    return {str(s.id) for s in snapshots}


def deregister_image(self: Any) -> Any:
    ami_id = str(self._get_param("ImageId", ""))
    delete = bool(self._get_bool_param("DeleteAssociatedSnapshots", False))
    self.error_on_dryrun()
    image = self.ec2_backend.amis.get(ami_id)
    owned = _image_snapshots(image) if delete and image is not None else set()
    self.ec2_backend.deregister_image(ami_id)
    shared = set().union(*(_image_snapshots(i) for i in self.ec2_backend.amis.values()))
    for snapshot_id in sorted(owned - shared):
        self.ec2_backend.snapshots.pop(snapshot_id, None)
    return _result({"Return": True})


OPERATIONS = {
    "create_store_image_task": create_store_image_task,
    "describe_store_image_tasks": describe_store_image_tasks,
    "create_restore_image_task": create_restore_image_task,
    "deregister_image": deregister_image,
}


def install() -> None:
    """Add the store/restore image task operations to moto's EC2, and make every S3 bucket
    access first settle the store tasks, so that a completed task's object is there for any
    reader, as in AWS (idempotent)."""
    from moto.ec2.responses import EC2Response
    from moto.s3.models import S3Backend

    for name, function in OPERATIONS.items():
        if getattr(EC2Response, name, None) is not function:
            setattr(EC2Response, name, function)
    if not getattr(S3Backend.get_bucket, "_coldvault", False):
        S3Backend.get_bucket = _settling(S3Backend.get_bucket)


def _settling(get_bucket: Any) -> Any:
    def settled_get_bucket(backend: Any, bucket_name: str) -> Any:
        ec2_models.settle_all()
        return get_bucket(backend, bucket_name)

    settled_get_bucket._coldvault = True  # type: ignore[attr-defined]
    return settled_get_bucket

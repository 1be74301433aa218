"""CloudFormation's ``AWS::S3::Bucket``: the ``PublicAccessBlockConfiguration`` applied, as AWS does.

moto's CloudFormation creates a bucket with its ``BucketEncryption`` and ``Tags`` only; a stack's
``PublicAccessBlockConfiguration`` is dropped, so a bucket the template makes private would read as
public (``GetPublicAccessBlock`` → ``NoSuchPublicAccessBlockConfiguration``) and coldvault's
preflight would refuse the stack's own bucket. :func:`install` wraps moto's create and update so
the setting is applied on both. Other bucket properties moto drops (versioning, lifecycle rules,
ownership controls) are not applied: docs/sandbox.md lists them.
"""

from __future__ import annotations

from typing import Any

_MARK = "_coldvault_public_access_block"


def _apply(bucket: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    properties = (cloudformation_json or {}).get("Properties", {}) or {}
    config = properties.get("PublicAccessBlockConfiguration")
    backend = s3_backends[account_id][get_partition(region_name)]
    if config:
        backend.put_public_access_block(bucket.name, dict(config))
    elif getattr(bucket, "public_access_block", None) is not None:
        # An update that removes the property removes the setting, as CloudFormation does.
        backend.delete_public_access_block(bucket.name)


def install() -> None:
    """Wrap ``FakeBucket``'s CloudFormation create and update (idempotent)."""
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.create_from_cloudformation_json, _MARK, False):
        return
    create = FakeBucket.create_from_cloudformation_json
    update = FakeBucket.update_from_cloudformation_json

    def create_from_cloudformation_json(
        resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        bucket = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _apply(bucket, cloudformation_json, account_id, region_name)
        return bucket

    def update_from_cloudformation_json(
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        bucket = update(original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        _apply(bucket, cloudformation_json, account_id, region_name)
        return bucket

    setattr(create_from_cloudformation_json, _MARK, True)
    FakeBucket.create_from_cloudformation_json = staticmethod(create_from_cloudformation_json)
    FakeBucket.update_from_cloudformation_json = staticmethod(update_from_cloudformation_json)

"""The store quota applied before a store task is created: EC2's own rule with coldvault's limit.

EC2 refuses ``CreateStoreImageTask`` while the bytes of the store tasks already in progress in the
account and Region are at or over its quota; the new AMI's own size is not counted, so an AMI
bigger than the limit still starts on its own. The deployed state machine cannot pack store work
the way the CLI engine does (each point runs on its own), so the start-store handler applies the
same rule with ``max_in_progress_bytes`` (``MaxInProgressGB``) and raises
:class:`~coldvault.errors.StoreQuotaExceeded`, which the state machine waits out like EC2's refusal.

Only a task about to be created is checked: :func:`within_limit` gives the step services whose
``create_store_image_task`` checks first, so a point whose task is already running or done, whose
archive is verified, or whose lease another run holds is never held back by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from coldvault.aws.ec2 import Ec2
from coldvault.config import GB
from coldvault.errors import StoreQuotaExceeded
from coldvault.pipeline.services import Services

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

IN_PROGRESS = "InProgress"


def has_room(in_progress: Mapping[str, int], limit: int, ami_id: str = "") -> bool:
    """May a store task for ``ami_id`` start? Only while the bytes already in progress are under ``limit``.

    ``in_progress`` maps each AMI being stored to its size in bytes. The new AMI's own size is not
    counted (nor its own task, if one is listed: starting it again is EC2's to refuse), so an AMI
    bigger than the limit starts when nothing else holds the room.
    """
    return sum(size for ami, size in in_progress.items() if ami != ami_id) < limit


def in_progress_store_bytes(ec2: Ec2) -> dict[str, int]:
    """The account's store tasks in progress in the Region: AMI id → its EBS snapshot data in bytes.

    One ``DescribeStoreImageTasks`` per 200 tasks and, when some are running, one ``DescribeImages``
    per 200 AMIs. An AMI no longer described (deregistered meanwhile) counts 0: EC2's own quota
    still applies to it.
    """
    amis = sorted({task.ami_id for task in ec2.store_tasks_in_state(IN_PROGRESS)})
    if not amis:
        return {}
    images = ec2.describe_images(amis)
    return {ami: images[ami].volume_bytes if ami in images else 0 for ami in amis}


def check_room(ec2: Ec2, ami_id: str, limit: int) -> None:
    """Raise :class:`StoreQuotaExceeded` when the store work in progress leaves no room for ``ami_id``."""
    in_progress = in_progress_store_bytes(ec2)
    if has_room(in_progress, limit, ami_id):
        return
    in_progress.pop(ami_id, None)
    total = sum(in_progress.values())
    raise StoreQuotaExceeded(
        f"store work in progress is {total / GB:.1f} GB in {len(in_progress)} task(s), at or over "
        f"the {limit / GB:g} GB limit: {ami_id} waits for some to finish",
        code="MaxInProgressGB",
        operation="CreateStoreImageTask",
        hint="it is retried; raise MaxInProgressGB (max-in-progress-gb) to store more at once",
    )


class LimitedEc2(Ec2):
    """The EC2 adapter whose ``create_store_image_task`` first applies :func:`check_room`."""

    def __init__(self, client: EC2Client, limit: int) -> None:
        super().__init__(client)
        self.limit = limit

    def create_store_image_task(self, ami_id: str, bucket: str, tags: dict[str, str]) -> str:
        check_room(self, ami_id, self.limit)
        return super().create_store_image_task(ami_id, bucket, tags)


def within_limit(svc: Services, limit: int) -> Services:
    """``svc`` whose store tasks start only while the bytes in progress are under ``limit``."""
    return replace(svc, ec2=LimitedEc2(svc.ec2.client, limit))

"""check_stores against in-memory fakes of the EC2 and S3 adapters, on a ManualClock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from coldvault.aws.ec2 import StoreTask
from coldvault.aws.s3 import ObjectInfo
from coldvault.clock import ManualClock
from coldvault.config import Settings
from coldvault.models import Outcome, PointWork, RecoveryPoint, Stage
from coldvault.pipeline import check_stores
from coldvault.pipeline.services import Services

START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeEc2:
    def __init__(self) -> None:
        self.tasks: dict[str, StoreTask] = {}
        self.calls: list[list[str]] = []

    def describe_store_tasks(self, ami_ids: Sequence[str]) -> dict[str, StoreTask]:
        for i in range(0, len(ami_ids), 20):
            self.calls.append(list(ami_ids[i : i + 20]))
        return {a: self.tasks[a] for a in ami_ids if a in self.tasks}


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, int] = {}

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        size = self.objects.get(key)
        return None if size is None else ObjectInfo(key=key, size=size, etag='"e"', storage_class="STANDARD")


def services(clock: ManualClock, ec2: FakeEc2, s3: FakeS3) -> Services:
    fake: Any = object()
    return Services(backup=fake, ec2=ec2, s3=s3, sqs=fake, clock=clock)  # type: ignore[arg-type]


def storing(n: int) -> PointWork:
    ami = f"ami-{n:017x}"
    point = RecoveryPoint(
        arn=f"arn:aws:ec2:us-east-1::image/{ami}",
        vault_name="v",
        resource_arn="arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=START - timedelta(days=100),
    )
    return PointWork(
        point=point,
        archive_key="k",
        manifest_key="m",
        stage=Stage.STORING,
        store_started_at=START.isoformat(),
    )


def task(work: PointWork, state: str, progress: int, reason: str = "") -> StoreTask:
    return StoreTask(work.ami_id, state, progress, "b", f"{work.ami_id}.bin", START, reason)


SETTINGS = Settings(vault="v", bucket="b", cutoff=START, run_id="r", store_deadline_seconds=7200)


def test_one_call_per_twenty_and_every_transition() -> None:
    clock = ManualClock(current=START)
    ec2, s3 = FakeEc2(), FakeS3()
    works = [storing(i) for i in range(45)]
    for w in works:
        ec2.tasks[w.ami_id] = task(w, "InProgress", 10)
    done, failed_one, vanished = works[0], works[1], works[2]
    ec2.tasks[done.ami_id] = task(done, "Completed", 100)
    s3.objects[f"{done.ami_id}.bin"] = 1234
    ec2.tasks[failed_one.ami_id] = task(failed_one, "Failed", 40, "InternalError")
    del ec2.tasks[vanished.ami_id]
    clock.advance(60)

    result = {w.ami_id: w for w in check_stores(services(clock, ec2, s3), SETTINGS, works)}

    assert [len(c) for c in ec2.calls] == [20, 20, 5]
    assert result[done.ami_id].stage is Stage.STORED
    assert result[done.ami_id].staging_size == 1234
    assert result[failed_one.ami_id].outcome is Outcome.FAILED
    assert "InternalError" in result[failed_one.ami_id].error
    assert result[vanished.ami_id].outcome is Outcome.FAILED
    w = result[works[3].ami_id]
    assert w.stage is Stage.STORING
    assert w.store_progress == 10
    assert w.next_poll_seconds == 270  # 10 % in 60 s: 540 s left, look again half way


def test_a_task_past_the_deadline_fails_its_point_and_others_are_untouched() -> None:
    clock = ManualClock(current=START)
    ec2, s3 = FakeEc2(), FakeS3()
    slow, other = storing(1), storing(2)
    ec2.tasks[slow.ami_id] = task(slow, "InProgress", 5)
    ec2.tasks[other.ami_id] = task(other, "InProgress", 5)
    clock.advance(7201)
    later = replace(other, stage=Stage.COPIED)  # not storing: passed through as is
    result = check_stores(services(clock, ec2, s3), SETTINGS, [slow, later])
    assert result[0].outcome is Outcome.FAILED
    assert result[0].error_type == "StoreDeadlineExceeded"
    assert result[1] == later
    assert [len(c) for c in ec2.calls] == [1]

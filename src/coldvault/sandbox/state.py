"""Sandbox-wide state that is not AWS resources: settings, virtual time, injected faults.

It lives in one process-wide :data:`STATE` and is reset, with every moto backend, by moto's
reset (``POST /moto-api/reset`` or ``moto.core.models.reset``... see :func:`install_reset_hook`).
AWS resources (recovery points, store tasks) live inside the moto backend objects instead, so
they reset with their backend.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

GB = 1_000_000_000
GIB = 1024**3


@dataclass
class SandboxSettings:
    """How the sandbox's simulated work progresses. Rates are in *virtual* bytes per second of
    sandbox time; ``size_scale`` turns an AMI's size into the size of the real object written."""

    backup_bytes_per_second: float = 50 * GB
    store_bytes_per_second: float = 20 * GB
    restore_bytes_per_second: float = 20 * GB
    image_available_after_seconds: float = 1.0  # a restored AMI stays `pending` this long
    size_scale: float = 1e-6  # 8 GiB AMI -> ~8.6 KB object
    max_object_bytes: int = 64 * 1024 * 1024  # cap on a written object, whatever the scale
    store_quota_bytes: int = 1200 * GB  # store work in progress (newer AWS docs)
    restore_quota_bytes: int = 600 * GB  # restore work in progress (newer AWS docs)
    store_task_history_days: int = 31
    # A new store task waits this long (InProgress at 0 %) before its work starts: AWS queues tasks.
    store_queue_seconds: float = 0.0
    # Step Functions Wait states and Retry intervals really wait seconds x wait_scale, and the sandbox
    # clock is moved on by the full seconds, so simulated work progresses as if the wait had happened.
    wait_scale: float = 0.01
    # S3 RestoreObject on GLACIER/DEEP_ARCHIVE takes the tier's AWS duration (Expedited 5 min, Standard
    # 5 h / 12 h, Bulk 12 h / 48 h) x this scale of sandbox time; 0 completes at once (moto's default).
    glacier_restore_scale: float = 0.0
    # Backup ListTags of an EC2 recovery point (arn:aws:ec2:…): AWS says it may fail for any ARN not
    # beginning arn:aws:backup, so it is refused unless this is true (then the point's tags, as before).
    list_tags_of_ec2_points: bool = False
    # CopyImage: the copy is `pending` for its snapshots' size / this rate (+ image_available_after_seconds)
    copy_image_bytes_per_second: float = 20 * GB
    # EBS snapshot lineages (coldvault.sandbox.ebs_lineage): the share of a volume that is allocated,
    # the blocks written per day as a share of the allocated ones, and how much of that rewrites a hot
    # set (this share of the allocated blocks) rather than landing anywhere. Each volume and instance
    # varies around the first two deterministically; ebs_instance_profiles overrides them per instance
    # id, e.g. {"i-0abc": {"daily_change_rate": 0.001, "hot_share": 0.0, "allocated_fraction": 0.5}}.
    ebs_allocated_fraction: float = 0.5
    ebs_daily_change_rate: float = 0.02
    ebs_hot_share: float = 0.6
    ebs_hot_set_fraction: float = 0.02
    ebs_instance_profiles: dict[str, dict[str, float]] = field(default_factory=dict)

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown sandbox setting {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class VirtualClock:
    """Wall-clock time plus an offset the admin API can advance (never moves backwards)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> timedelta:
        return timedelta(seconds=self._offset)


@dataclass
class Fault:
    """One injected fault.

    ``operation`` is an AWS operation name (``CreateStoreImageTask``, ``DeleteRecoveryPoint``…) or a
    sandbox event (``StoreTask`` for the outcome of a store task). ``kind`` is what happens:

    - ``throttle``: the call fails with the service's throttling error;
    - ``access_denied``: the call fails with the service's access-denied error;
    - ``quota``: ``CreateStoreImageTask``/``CreateRestoreImageTask`` refused as over the quota;
    - ``fail``: a store task ends ``Failed`` with ``reason``;
    - ``silent_expire``: ``DeleteRecoveryPoint`` answers 200 but the point only goes ``EXPIRED``;
    - ``error``: the call fails with ``code``/``status``/``reason`` as given.

    ``resources`` limits it to those AMI ids / recovery point ARNs (empty: any); ``times`` is how
    many times it fires (``None``: until cleared).
    """

    operation: str
    kind: str
    resources: list[str] = field(default_factory=list)
    times: int | None = None
    reason: str = ""
    code: str = ""
    status: int = 400
    fired: int = 0

    def matches(self, operation: str, resource_ids: list[str]) -> bool:
        if self.operation != operation:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        return not self.resources or any(r in self.resources for r in resource_ids)


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, operation: str, *resource_ids: str, kinds: tuple[str, ...] | None = None) -> Fault | None:
        """The first armed fault for this operation and resources (and one of ``kinds``, when
        given), counted as fired; or None."""
        with self._lock:
            for fault in self._faults:
                if kinds is not None and fault.kind not in kinds:
                    continue
                if fault.matches(operation, list(resource_ids)):
                    fault.fired += 1
                    return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]


@dataclass
class SandboxState:
    settings: SandboxSettings = field(default_factory=SandboxSettings)
    clock: VirtualClock = field(default_factory=VirtualClock)
    faults: FaultRegistry = field(default_factory=FaultRegistry)

    def reset(self) -> None:
        self.settings = SandboxSettings()
        self.clock = VirtualClock()
        self.faults = FaultRegistry()


STATE = SandboxState()


def install_reset_hook() -> None:
    """Make moto's global reset also reset :data:`STATE` (idempotent)."""
    from moto.moto_api._internal.models import MotoAPIBackend

    if getattr(MotoAPIBackend.reset, "_coldvault", False):
        return
    original = MotoAPIBackend.reset

    def reset(self: Any) -> None:
        original(self)
        STATE.reset()

    reset._coldvault = True  # type: ignore[attr-defined]
    MotoAPIBackend.reset = reset

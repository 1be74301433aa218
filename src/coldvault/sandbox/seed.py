"""A realistic, deterministic fleet for the sandbox: instances, a vault, recovery points over months.

Instances carry ``Name``/``team``/``env`` tags and 1–3 EBS volumes of 8–500 GiB. Each gets daily
recovery points for the recent weeks and monthly ones before that; a few points are left in
unusable states (``PARTIAL``, ``EXPIRED``, ``CREATING``) and one EBS (non-EC2) point is added.
Everything goes through the admin path (:mod:`coldvault.sandbox.recovery_points`), never AWS APIs,
so creation dates can be in the past. The same ``seed`` number gives the same fleet shape.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from moto.backup.models import backup_backends
from moto.ec2.models import ec2_backends

from coldvault.sandbox import backup_models as models
from coldvault.sandbox.recovery_points import insert_point
from coldvault.sandbox.state import STATE

TEAMS = ("payments", "search", "platform", "data", "identity", "media")
ENVS = ("prod", "prod", "staging", "dev")
ROLES = ("api", "worker", "db", "cache", "batch", "web", "etl", "queue")
ROOT_SIZES = (8, 8, 16, 20, 30, 50)
DATA_SIZES = (50, 100, 200, 250, 500)
BASE_AMI = "ami-12c6146b"  # an image in moto's default set
DEFAULT_VAULT = "coldvault-demo"


def _instance(ec2: Any, rng: random.Random, index: int) -> str:
    team, env, role = rng.choice(TEAMS), rng.choice(ENVS), rng.choice(ROLES)
    reservation = ec2.run_instances(
        BASE_AMI,
        1,
        None,
        [],
        instance_type=rng.choice(("m5.large", "r6i.xlarge")),
        is_instance_type_default=False,
        region_name=ec2.region_name,
        tags={},
        nics=[],
        subnet_id=None,
        security_group_ids=[],
        launch_template={},
    )
    instance = reservation.instances[0]
    root = ec2.get_volume(instance.block_device_mapping["/dev/sda1"].volume_id)
    root.size = rng.choice(ROOT_SIZES)
    zone = instance._placement.zone
    for letter in "fgh"[: rng.choice((0, 1, 1, 2))]:
        volume = ec2.create_volume(size=rng.choice(DATA_SIZES), zone_name=zone)
        ec2.attach_volume(volume.id, instance.id, f"/dev/sd{letter}", True)
    ec2.create_tags([instance.id], {"Name": f"{team}-{role}-{env}-{index:02d}", "team": team, "env": env})
    return str(instance.id)


def seed_fleet(
    *,
    instances: int = 8,
    daily_days: int = 14,
    monthly_months: int = 6,
    seed: int = 0,
    vault_name: str = DEFAULT_VAULT,
    lock_min_retention_days: int | None = None,
    unusable: bool = True,
    ebs_point: bool = True,
    backup_plan_id: str = "7c5e6d1f-0b2a-4e8e-9a51-3f0d2c7b1e44",
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """Create the fleet; returns a summary (instance ids, vault, point counts by status).

    ``instances × (daily_days + monthly_months)`` EC2 points, plus the extras. A vault lock with
    ``lock_min_retention_days`` is set when given (its configuration stays changeable)."""
    if instances < 0 or daily_days < 0 or monthly_months < 0:
        raise ValueError("instances, daily_days and monthly_months must be >= 0")
    rng = random.Random(seed)
    backend = backup_backends[account][region]
    ec2 = ec2_backends[account][region]
    if vault_name not in backend.vaults:
        backend.create_backup_vault(vault_name, {"purpose": "coldvault-sandbox"}, None, None)
    if lock_min_retention_days is not None:
        backend.put_backup_vault_lock_configuration(vault_name, lock_min_retention_days, None, None)
    now = STATE.clock.now().replace(hour=5, minute=0, second=0, microsecond=0)
    ages = [timedelta(days=d + 1) for d in range(daily_days)]
    ages += [timedelta(days=daily_days + 30 * (m + 1)) for m in range(monthly_months)]
    instance_ids = [_instance(ec2, rng, i + 1) for i in range(instances)]
    points: list[models.RecoveryPoint] = []
    for instance_id in instance_ids:
        for age in ages:
            points.append(
                insert_point(
                    backend,
                    vault_name=vault_name,
                    instance_id=instance_id,
                    creation_date=now - age - timedelta(minutes=rng.randrange(0, 120)),
                    lifecycle={"DeleteAfterDays": 365},
                    backup_plan_id=backup_plan_id,
                )
            )
    if unusable and instance_ids:
        for status, message in (
            ("PARTIAL", "The backup job completed with some volumes not backed up"),
            ("EXPIRED", "Insufficient permissions to delete the recovery point"),
            ("CREATING", None),
        ):
            points.append(
                insert_point(
                    backend,
                    vault_name=vault_name,
                    instance_id=rng.choice(instance_ids),
                    creation_date=now - timedelta(days=rng.randrange(1, 10), hours=rng.randrange(0, 12)),
                    status=status,
                    status_message=message,
                    backup_plan_id=backup_plan_id,
                )
            )
    if ebs_point:
        points.append(
            insert_point(
                backend,
                vault_name=vault_name,
                resource_type="EBS",
                volume_sizes_gib=[rng.choice(DATA_SIZES)],
                creation_date=now - timedelta(days=3),
                tags={"Name": "shared-scratch-volume", "team": "data", "env": "prod"},
                backup_plan_id=backup_plan_id,
            )
        )
    by_status: dict[str, int] = {}
    for point in points:
        by_status[point.status] = by_status.get(point.status, 0) + 1
    return {
        "vault_name": vault_name,
        "instance_ids": instance_ids,
        "recovery_points": len(points),
        "by_status": by_status,
    }


def seed_bulk(
    *,
    points: int,
    instances: int = 500,
    seed: int = 0,
    vault_name: str = DEFAULT_VAULT,
    with_amis: bool = False,
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """Benchmarks: ``points`` COMPLETED EC2 points spread over ``instances`` made-up instance ids
    and the past two years, inserted straight into the store (no AMIs unless ``with_amis``)."""
    rng = random.Random(seed)
    backend = backup_backends[account][region]
    if vault_name not in backend.vaults:
        backend.create_backup_vault(vault_name, {}, None, None)
    vault = backend.vaults[vault_name]
    ids = [f"i-{rng.getrandbits(68):017x}" for _ in range(max(instances, 1))]
    now = STATE.clock.now()
    store = models.store_for(backend)
    with store.lock:
        for n in range(points):
            if with_amis:
                insert_point(
                    backend,
                    vault_name=vault_name,
                    creation_date=now - timedelta(minutes=rng.randrange(60, 2 * 365 * 24 * 60)),
                    volume_sizes_gib=[rng.choice(ROOT_SIZES)],
                )
                continue
            instance_id = ids[n % len(ids)]
            image_id = f"ami-{rng.getrandbits(68):017x}"
            created = now - timedelta(minutes=rng.randrange(60, 2 * 365 * 24 * 60))
            point = models.RecoveryPoint(
                arn=models.image_arn(region, image_id),
                vault_name=vault_name,
                vault_arn=vault.backup_vault_arn,
                resource_arn=f"arn:aws:ec2:{region}:{account}:instance/{instance_id}",
                resource_type="EC2",
                creation_date=created,
                completion_date=created + timedelta(minutes=20),
                size_bytes=rng.choice(ROOT_SIZES) * models.GIB,
                image_id=image_id,
                tags={"aws:backup:source-resource": instance_id},
            )
            store.points.setdefault(vault_name, {})[point.arn] = point
        vault.num_of_recovery_points = len(store.points.get(vault_name, {}))
    return {"vault_name": vault_name, "recovery_points": points}

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coldvault.models import RecoveryPoint, SkipReason
from coldvault.selection import USABLE_STATES, VaultRules, select, skip_reason

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=30)
NO_RULES = VaultRules()
STATES = ["CREATING", "AVAILABLE", "COMPLETED", "PARTIAL", "STOPPED", "EXPIRED", "DELETING"]


def point(
    n: int, *, age_days: float, status: str = "COMPLETED", kind: str = "EC2", instance: str = "i-0abc"
) -> RecoveryPoint:
    ami = f"ami-{n:017x}"
    arn = (
        f"arn:aws:ec2:us-east-1::image/{ami}"
        if kind == "EC2"
        else f"arn:aws:ec2:us-east-1::snapshot/snap-{n:017x}"
    )
    return RecoveryPoint(
        arn=arn,
        vault_name="v",
        resource_arn=f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}",
        resource_type=kind,
        status=status,
        creation_date=NOW - timedelta(days=age_days),
        backup_size_bytes=8 * 1024**3,
    )


def reason(
    p: RecoveryPoint, *, archived: bool = False, rules: VaultRules = NO_RULES, include: bool = False
) -> SkipReason | None:
    found = skip_reason(
        p, cutoff=CUTOFF, now=NOW, archived=archived, rules=rules, include_undeletable=include
    )
    return None if found is None else found[0]


def test_each_skip_reason() -> None:
    assert reason(point(1, age_days=40)) is None
    assert reason(point(2, age_days=40, kind="EBS")) is SkipReason.NOT_EC2
    assert reason(point(3, age_days=10)) is SkipReason.TOO_RECENT
    assert reason(point(4, age_days=40, status="PARTIAL")) is SkipReason.NOT_USABLE
    assert reason(point(5, age_days=40, status="DELETING"), archived=True) is SkipReason.ALREADY_ARCHIVED
    locked = VaultRules(min_retention_days=60)
    assert reason(point(6, age_days=40), rules=locked) is SkipReason.VAULT_LOCK
    assert reason(point(7, age_days=70), rules=locked) is None
    assert reason(point(6, age_days=40), rules=locked, include=True) is None
    held = VaultRules(legal_holds=frozenset({point(8, age_days=40).arn}))
    assert reason(point(8, age_days=40), rules=held) is SkipReason.LEGAL_HOLD


def test_archived_point_whose_deletion_did_not_happen_is_resumed() -> None:
    assert reason(point(1, age_days=40, status="EXPIRED"), archived=True) is None
    assert reason(point(1, age_days=40, status="EXPIRED"), archived=False) is SkipReason.NOT_USABLE
    plan = select(
        [point(1, age_days=40)],
        cutoff=CUTOFF,
        now=NOW,
        archived={point(1, age_days=40).ami_id},
        rules=VaultRules(),
        include_undeletable=False,
    )
    assert plan.resuming == {point(1, age_days=40).ami_id}


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=400),
            st.sampled_from(STATES),
            st.sampled_from(["EC2", "EBS"]),
            st.booleans(),
        ),
        max_size=40,
    ),
    st.one_of(st.none(), st.integers(min_value=1, max_value=365)),
    st.booleans(),
)
def test_selection_properties(
    specs: list[tuple[float, str, str, bool]], lock_days: int | None, include: bool
) -> None:
    pts = [
        point(i, age_days=a, status=s, kind=k, instance=f"i-{i % 3}") for i, (a, s, k, _) in enumerate(specs)
    ]
    archived = {p.ami_id for p, (_, _, _, arch) in zip(pts, specs, strict=True) if arch}
    rules = VaultRules(min_retention_days=lock_days)
    plan = select(pts, cutoff=CUTOFF, now=NOW, archived=archived, rules=rules, include_undeletable=include)
    assert plan.listed == len(pts)
    # every point is accounted for exactly once
    assert len(plan.candidates) + len(plan.skipped) + plan.too_recent == len(pts)
    for c in plan.candidates:
        assert c.resource_type == "EC2"
        assert c.creation_date < CUTOFF
        assert c.status in USABLE_STATES or (c.ami_id in archived and c.status == "EXPIRED")
        if lock_days and not include:
            assert c.creation_date + timedelta(days=lock_days) <= NOW
    for s in plan.skipped:
        assert s.reason is not SkipReason.TOO_RECENT
    assert plan.resuming == {c.ami_id for c in plan.candidates} & archived
    # points that stay leave their instance marked as keeping points (incremental-snapshot honesty)
    for s in plan.skipped:
        assert s.point.instance_id in plan.instances_kept

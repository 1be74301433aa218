import ast
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from coldvault import keys
from coldvault.models import RecoveryPoint


def _point(created: datetime, account: str = "123456789012", region: str = "eu-west-1") -> RecoveryPoint:
    return RecoveryPoint(
        arn=f"arn:aws:ec2:{region}::image/ami-0123456789abcdef0",
        vault_name="v",
        resource_arn=f"arn:aws:ec2:{region}:{account}:instance/i-0abc",
        resource_type="EC2",
        status="COMPLETED",
        creation_date=created,
    )


def test_archive_key_uses_source_instance_account_region_and_utc_date() -> None:
    created = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=5)))  # 2026-02-28 20:30 UTC
    key = keys.archive_key(_point(created))
    assert key == "recovery-points/123456789012/eu-west-1/i-0abc/2026/02/28/ami-0123456789abcdef0.bin"


@given(st.datetimes(timezones=st.just(UTC)))
def test_archive_key_date_is_the_creation_date(created: datetime) -> None:
    key = keys.archive_key(_point(created))
    parts = key.split("/")
    assert parts[:4] == ["recovery-points", "123456789012", "eu-west-1", "i-0abc"]
    assert (int(parts[4]), int(parts[5]), int(parts[6])) == (created.year, created.month, created.day)
    assert parts[7] == "ami-0123456789abcdef0.bin"


def test_staging_key_is_at_bucket_root() -> None:
    assert keys.staging_key("ami-0123456789abcdef0") == "ami-0123456789abcdef0.bin"


def test_keys_parse_back() -> None:
    ami = "ami-0123456789abcdef0"
    assert keys.ami_of_manifest_key(keys.manifest_key(ami)) == ami
    assert keys.ami_of_pending_deletion_key(keys.pending_deletion_key(ami)) == ami
    for other in (
        keys.lease_key(ami),
        keys.pending_deletion_key(ami),
        "catalog/ami/x/y.json",
        "catalog/ami/.json",
    ):
        assert keys.ami_of_manifest_key(other) is None
    started = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert keys.parse_report_key(keys.report_key(started, "r1", "json")) == (started, "r1")
    assert keys.parse_report_key(keys.report_key(started, "r1", "csv")) is None


def test_run_objects_live_under_the_run() -> None:
    prefix = keys.run_prefix("r1")
    assert prefix == "runs/r1/"
    made = [
        keys.plan_key("r1"),
        keys.candidates_key("r1"),
        keys.work_key("r1", "ami-1"),
        keys.result_key("r1", "ami-1"),
    ]
    assert all(k.startswith(prefix) for k in made)
    assert len(set(made)) == len(made)
    assert keys.result_key("r1", "ami-1").startswith(keys.results_prefix("r1"))
    assert not keys.work_key("r1", "ami-1").startswith(keys.results_prefix("r1"))


def test_references_that_name_an_object() -> None:
    point = _point(datetime(2026, 1, 1, tzinfo=UTC))
    assert keys.looks_like_archive_key(keys.archive_key(point))
    assert keys.looks_like_archive_key(keys.staging_key(point.ami_id))
    assert not keys.looks_like_archive_key(point.ami_id)
    assert not keys.looks_like_archive_key(point.arn)


# What spelling a key of the bucket layout looks like in a string literal.
_LAYOUT = re.compile(
    r"(?<![\w-])(catalog|logs|leases|runs|recovery-points)/|\.bin\b|by-recovery-point|by-archive-key"
    r"|pending-deletion|candidates\.json|plan\.json|/results/|/work/"
)
_SRC = Path(keys.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_only_keys_py_spells_the_bucket_layout() -> None:
    """No module but keys.py builds a key of the bucket layout (docstrings may describe it).

    The sandbox is left out: it plays EC2 and Backup, whose own names (``<ami-id>.bin`` written by
    CreateStoreImageTask, the Backup API's ``recovery-points/`` paths) are AWS's, not our layout.
    """
    offenders = []
    for path in sorted(_SRC.rglob("*.py")):
        rel = path.relative_to(_SRC).as_posix()
        if rel == "keys.py" or rel.startswith("sandbox/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in skip:
                continue
            if _LAYOUT.search(node.value):
                offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert offenders == [], "build these keys in coldvault/keys.py:\n" + "\n".join(offenders)


def test_the_layout_check_sees_f_strings() -> None:
    tree = ast.parse('x = f"runs/{run_id}/plan.json"\ny = "a" + ".bin"\n')
    seen = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert [s for s in seen if _LAYOUT.search(s)] == ["runs/", "/plan.json", ".bin"]

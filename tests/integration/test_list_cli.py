"""`coldvault list` on the sandbox: the catalogue with restore states, filters, output formats, and
never a read of a cold object's body."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer
from tests.integration.test_restore_support import (
    REGION,
    archive_point,
    count_calls,
    make_bucket,
    run_cli,
    seeded_point,
    slow_glacier_restores,
)

pytestmark = pytest.mark.integration
BUCKET = "archive-list"


def test_list_shows_archives_with_restore_state_and_filters(
    aws_env: dict[str, str], admin: SandboxAdmin, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    web = seeded_point(admin, tags={"Name": "web"}, volumes=[("/dev/xvda", 8, False)], age_days=40)
    db = seeded_point(admin, tags={"Name": "db"}, volumes=[("/dev/xvda", 16, False)], age_days=100)
    web_ami, _ = archive_point(admin, BUCKET, "GLACIER_IR", web["RecoveryPointArn"])
    db_ami, db_key = archive_point(admin, BUCKET, "GLACIER", db["RecoveryPointArn"])
    db_instance = db["ResourceArn"].rsplit("/", 1)[-1]
    s3 = boto3.client("s3", region_name=REGION)

    code, out, err = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")
    assert code == 0, err
    rows = {r["ami_id"]: r for r in json.loads(out)}
    assert set(rows) == {web_ami, db_ami}
    assert rows[db_ami]["storage_class"] == "GLACIER"
    assert rows[db_ami]["restore_state"] == "none"
    assert rows[web_ami]["restore_state"] == "readable"
    assert rows[db_ami]["instance_id"] == db_instance
    assert rows[db_ami]["size_bytes"] > 0
    assert list(rows) == [web_ami, db_ami]  # newest recovery point first

    slow_glacier_restores(admin)  # a Bulk restore of a GLACIER object takes 12 h of sandbox time
    s3.restore_object(
        Bucket=BUCKET, Key=db_key, RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Bulk"}}
    )
    code, out, _ = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json", "--instance", db_instance)
    assert [r["restore_state"] for r in json.loads(out)] == ["in progress"]
    admin.advance_clock(12 * 3600 + 1)
    code, out, _ = run_cli(
        capsys, "list", "--bucket", BUCKET, "--output", "csv", "--storage-class", "glacier"
    )
    records = list(csv.DictReader(io.StringIO(out)))
    assert [r["ami_id"] for r in records] == [db_ami]
    assert records[0]["restore_state"].startswith("readable until ")

    created = {
        r["ami_id"]: r["created"]
        for r in json.loads(run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json")[1])
    }
    since = created[web_ami][:10]
    code, out, _ = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json", "--since", since)
    assert [r["ami_id"] for r in json.loads(out)] == [web_ami]
    code, out, _ = run_cli(capsys, "list", "--bucket", BUCKET, "--output", "json", "--until", since)
    assert [r["ami_id"] for r in json.loads(out)] == [db_ami]

    code, out, _ = run_cli(capsys, "list", "--bucket", BUCKET)
    assert code == 0
    assert web_ami in out
    assert "readable until" in out


def test_list_never_reads_an_archive_body(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "x"}, volumes=[("/dev/xvda", 8, False)])
    archive_point(admin, BUCKET, "DEEP_ARCHIVE", point["RecoveryPointArn"])
    from coldvault.aws.session import AwsSession
    from coldvault.catalog import Catalog

    client = AwsSession(region=REGION).client("s3")
    gets: list[str] = []
    client.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: gets.append(params["url_path"])
    )
    rows = Catalog(client, BUCKET).listing()
    assert len(rows) == 1
    assert rows[0].state is not None
    assert rows[0].state.storage_class == "DEEP_ARCHIVE"
    assert gets
    assert all(path.startswith(f"/{BUCKET}/catalog/") or path.startswith("/catalog/") for path in gets)
    heads = count_calls(client, "HeadObject")
    Catalog(client, BUCKET).listing()
    assert heads == ["HeadObject"]


def test_list_bad_input_exits_2(aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["list"],
        ["list", "--bucket", "b", "--storage-class", "COLD"],
        ["list", "--bucket", "b", "--since", "last tuesday"],
        ["list", "--bucket", "b", "--output", "xml"],
    ):
        code, _, err = run_cli(capsys, *args)
        assert code == 2, (args, err)


def test_list_takes_the_bucket_from_the_ssm_settings(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    make_bucket(BUCKET)
    point = seeded_point(admin, tags={"Name": "cfg"}, volumes=[("/dev/xvda", 8, False)])
    ami_id, _ = archive_point(admin, BUCKET, "GLACIER_IR", point["RecoveryPointArn"])
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/coldvault/prod/bucket", Value=BUCKET, Type="String"
    )

    code, out, err = run_cli(capsys, "list", "--config", "/coldvault/prod", "--output", "json")
    assert code == 0, err
    assert [r["ami_id"] for r in json.loads(out)] == [ami_id]
    code, _, err = run_cli(capsys, "list", "--config", "/coldvault/other")
    assert code == 2
    assert "no 'bucket' parameter under /coldvault/other" in " ".join(err.split())

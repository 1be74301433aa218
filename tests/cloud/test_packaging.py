"""``coldvault package``: a deterministic zip with only what the functions import, and the packaged
template carrying exactly the ASL file; ``deploy``/``run`` refuse bad input before changing anything."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import botocore
import pytest
from cfnlint.decode import cfn_yaml

from coldvault.cli.app import main
from coldvault.cloud import packaging

pytestmark = pytest.mark.cloud


def _main(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_zip_is_deterministic_and_holds_only_the_function_code() -> None:
    first, second = packaging.build_zip(), packaging.build_zip()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {packaging.ZIP_TIME}
    tops = {n.split("/", 1)[0].removesuffix(".py") for n in names}
    assert tops == {"coldvault", *packaging.SDK_PACKAGES}
    assert not [n for n in names if n.startswith("awscrt")]  # native code for this machine, not Lambda's
    assert "coldvault/cloud/handlers.py" in names
    assert "coldvault/cloud/__init__.py" in names
    assert not [
        n for n in names if n.startswith(("coldvault/cli/", "coldvault/sandbox/")) or "__pycache__" in n
    ]
    assert packaging.artifact_key(first).startswith("coldvault/lambda-")


def test_a_changed_source_changes_the_artifact_key(tmp_path: Path) -> None:
    root = tmp_path / "coldvault"
    (root / "cloud").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "cloud" / "handlers.py").write_text("X = 1\n")
    before = packaging.build_zip(root)
    (root / "cloud" / "handlers.py").write_text("X = 2\n")
    assert packaging.artifact_key(packaging.build_zip(root)) != packaging.artifact_key(before)


def test_the_packaged_template_carries_exactly_the_asl_files() -> None:
    template = cfn_yaml.loads(packaging.packaged_template())
    machines = {
        "ArchiveStateMachine": "archive.asl.json",
        "RestoreStateMachine": "restore.asl.json",
    }
    for resource, name in machines.items():
        deployed = template["Resources"][resource]["Properties"]["DefinitionString"]
        assert json.loads(deployed) == json.loads(packaging.read_cloud_file(name)), name
    with pytest.raises(ValueError, match="exactly once"):
        packaging.packaged_template("Resources: {}\n")


def test_package_command_writes_zip_and_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--output", "json", "package", "--out-dir", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert Path(result["zip"]).read_bytes() == packaging.build_zip()
    assert Path(result["template"]).read_text() == packaging.packaged_template()
    assert Path(result["zip"]).name == Path(result["artifact_key"]).name


@pytest.mark.integration
def test_deploy_refuses_bad_parameters_before_changing_anything(
    aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main(
        [
            "deploy",
            "--stack-name",
            "bad",
            "--parameter-overrides",
            "ArchivalBucketName=archive",
            "ScheduleWindow=every day",
            "--yes",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("coldvault: error: parameter ScheduleWindow='every day' must be cron(")
    assert "Traceback" not in err
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("cloudformation").list_stacks()["StackSummaries"] == []
    assert _main(["deploy", "--stack-name", "bad", "--parameter-overrides", "Nonsense", "--yes"]) == 2


@pytest.mark.integration
def test_run_without_a_stack_is_a_usage_error(
    aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(["run", "--stack-name", "missing", "--wait"]) == 2
    assert "stack missing does not exist" in capsys.readouterr().err


def test_the_zip_carries_the_installed_sdk_with_the_models_the_functions_need(tmp_path: Path) -> None:
    """The functions run the SDK the tests ran (Lambda's bundled botocore 1.35 refuses parameters
    coldvault sends): extracted alone, the zip creates every client the packaged code asks for, and
    its botocore accepts ChecksumType (CreateMultipartUpload) and DeleteAssociatedSnapshots."""
    with zipfile.ZipFile(io.BytesIO(packaging.build_zip())) as archive:
        archive.extractall(tmp_path)
        names = archive.namelist()
    models = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") >= 3}
    assert models == set(packaging.SDK_SERVICES)
    versions = {
        tuple(n.split("/")[2:4]) for n in names if n.startswith("botocore/data/") and n.count("/") >= 4
    }
    assert len(versions) == len(models)  # the newest model of each, only
    used = set()
    for _, path in packaging.lambda_files():
        if path.suffix == ".py":
            used |= set(re.findall(r"\.client\(\s*\"([a-z0-9-]+)\"", path.read_text()))
    assert used
    assert used <= set(packaging.SDK_SERVICES), (
        f"clients without a packaged model: {used - packaging.SDK_SERVICES}"
    )
    script = (
        "import json, sys\n"
        "sys.path[:0] = [sys.argv[1]]\n"
        "import boto3, botocore\n"
        "from botocore.validate import validate_parameters\n"
        "s = boto3.session.Session(\n"
        "    region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\n"
        "clients = {n: s.client(n) for n in json.loads(sys.argv[2])}\n"
        "op = clients['s3'].meta.service_model.operation_model('CreateMultipartUpload')\n"
        "validate_parameters({'Bucket': 'b', 'Key': 'k', 'ChecksumAlgorithm': 'CRC64NVME',\n"
        "                     'ChecksumType': 'FULL_OBJECT'}, op.input_shape)\n"
        "op = clients['ec2'].meta.service_model.operation_model('DeregisterImage')\n"
        "validate_parameters({'ImageId': 'ami-1', 'DeleteAssociatedSnapshots': True}, op.input_shape)\n"
        "print(json.dumps({'botocore': botocore.__file__, 'version': botocore.__version__,\n"
        "                  'boto3': boto3.__file__}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(tmp_path), json.dumps(sorted(packaging.SDK_SERVICES))],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["botocore"].startswith(str(tmp_path))
    assert result["boto3"].startswith(str(tmp_path))
    assert result["version"] == botocore.__version__

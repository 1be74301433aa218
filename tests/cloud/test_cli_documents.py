"""``deploy`` and ``run`` speak every output format: one document on stdout, the progress on stderr."""

from __future__ import annotations

import json

import pytest
import yaml

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_restore_support import run_cli

pytestmark = [pytest.mark.cloud, pytest.mark.integration, pytest.mark.slow]


def test_deploy_and_run_print_their_document_in_each_format(
    aws_env: dict[str, str], admin: SandboxAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.seed(
        vault_name="docs-vault", instances=1, daily_days=0, monthly_months=1, unusable=False, ebs_point=False
    )
    code, out, err = run_cli(
        capsys,
        "deploy",
        "--stack-name",
        "docs",
        "--parameter-overrides",
        "ArchivalBucketName=docs-archive",
        "BackupVaultName=docs-vault",
        "DaysRecoveryPointsCreatedBefore=20",
        "--yes",
        "--output",
        "yaml",
    )
    assert code == 0, err
    deployed = yaml.safe_load(out)
    assert deployed["stack"] == "docs"
    assert deployed["outputs"]["StateMachineArn"].startswith("arn:aws:states:")
    assert "docs" in err  # the plan and the events went to stderr

    code, out, err = run_cli(
        capsys, "--query", "counts", "run", "--stack-name", "docs", "--wait", "--output", "json"
    )
    assert code == 0, err
    assert json.loads(out) == {"archived": 1}
    assert "points done" in err  # progress on stderr

    code, out, err = run_cli(capsys, "run", "--stack-name", "docs", "--output", "text")
    assert code == 0, err
    arn, run_id = out.strip().split("\t")  # text: the document's values, tab-separated, keys sorted
    assert arn.startswith("arn:aws:states:")
    assert run_id in arn

"""``coldvault deploy``'s inputs: ``--parameter-overrides`` in the AWS CLI's and SAM's forms, and the
``coldvault.toml`` that ``--guided`` writes and the next deploy reads."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from coldvault.cloud import deploy_config
from coldvault.cloud.parameters import parse_overrides
from coldvault.errors import UsageError


def test_every_form_of_parameter_overrides(tmp_path: Path) -> None:
    as_list = tmp_path / "list.json"
    as_list.write_text(
        json.dumps(
            [
                {"ParameterKey": "BackupVaultName", "ParameterValue": "from-file"},
                {"ParameterKey": "MaxConcurrency", "ParameterValue": 4},
                {"ParameterKey": "KmsKeyArn", "UsePreviousValue": True},
            ]
        )
    )
    as_dict = tmp_path / "dict.json"
    as_dict.write_text(json.dumps({"ArchiveStorageClass": "GLACIER", "EnableSchedule": False}))
    assert parse_overrides(
        [
            "ArchivalBucketName=my-archive",
            "ParameterKey=NotificationEmail,ParameterValue=ops@example.com",
            f"file://{as_list}",
            f"file://{as_dict}",
            "ScheduleWindow=cron(0 3 ? * SUN *)",  # one value with spaces, as the shell passed it
            "DaysRecoveryPointsCreatedBefore=30 ItemsPerExecution=50",  # SAM's space-separated string
        ]
    ) == {
        "ArchivalBucketName": "my-archive",
        "NotificationEmail": "ops@example.com",
        "BackupVaultName": "from-file",
        "MaxConcurrency": "4",
        "ArchiveStorageClass": "GLACIER",
        "EnableSchedule": "false",
        "ScheduleWindow": "cron(0 3 ? * SUN *)",
        "DaysRecoveryPointsCreatedBefore": "30",
        "ItemsPerExecution": "50",
    }
    assert parse_overrides(["A=1", "A=2"]) == {"A": "2"}  # later wins
    assert parse_overrides(["Email="]) == {"Email": ""}


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("NoEquals", "is not Key=Value"),
        ("=value", "is not Key=Value"),
        ("file:///no/such/params.json", "cannot read"),
    ],
)
def test_malformed_overrides_are_named(item: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        parse_overrides([item])
    assert caught.value.exit_code == 2


def test_a_params_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(UsageError, match="neither a list"):
        parse_overrides([f"file://{bad}"])


def test_the_config_file_round_trips_and_keeps_other_stacks(tmp_path: Path) -> None:
    path = tmp_path / "coldvault.toml"
    assert deploy_config.load(path, "prod") == deploy_config.StackConfig()
    assert deploy_config.default_stack(path) is None
    tricky = 'a "quoted" value, a backslash \\ and ünïcode'
    deploy_config.save(path, "prod", deploy_config.StackConfig({"BackupVaultName": tricky}, "art-bucket"))
    deploy_config.save(path, "test-1", deploy_config.StackConfig({"BackupVaultName": "t"}))
    assert deploy_config.default_stack(path) == "test-1"
    assert deploy_config.load(path, "prod") == deploy_config.StackConfig(
        {"BackupVaultName": tricky}, "art-bucket"
    )
    assert tomllib.loads(path.read_text())["stacks"]["test-1"]["parameters"] == {"BackupVaultName": "t"}
    path.write_text("not = [toml")
    with pytest.raises(UsageError, match="not valid TOML"):
        deploy_config.load(path, "prod")

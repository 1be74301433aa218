"""The sandbox server: lifecycle, free ports, moto configured for coldvault."""

from __future__ import annotations

import os
import time
import urllib.request

import boto3
import pytest

from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.install import install
from coldvault.sandbox.server import SandboxServer

pytestmark = pytest.mark.integration


def test_server_starts_fast_on_a_free_port_and_stops(sandbox: SandboxServer) -> None:
    started = time.monotonic()
    with SandboxServer(port=0) as other:
        elapsed = time.monotonic() - started
        assert elapsed < 3
        port = other.port
        assert port not in (0, sandbox.port)
        assert other.endpoint_url == f"http://127.0.0.1:{port}"
        assert os.environ["MOTO_PORT"] == str(port)
        assert SandboxAdmin(other.endpoint_url).settings()
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_coldvault/settings", timeout=2)
    # stopping gives moto's callbacks back to the server that was there before
    assert os.environ["MOTO_PORT"] == str(sandbox.port)


def test_moto_port_and_config_point_at_the_sandbox(sandbox: SandboxServer) -> None:
    from moto.core.config import default_user_config

    install()  # idempotent
    assert os.environ["MOTO_PORT"] == str(sandbox.port)
    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    assert default_user_config["lambda"]["use_docker"] is False


def test_aws_env_points_boto3_at_the_sandbox(aws_env: dict[str, str], sandbox: SandboxServer) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    sqs = boto3.client("sqs")
    assert sqs.meta.endpoint_url == sandbox.endpoint_url
    sqs.create_queue(QueueName="q")
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_each_test_starts_from_a_reset_sandbox(aws_env: dict[str, str]) -> None:
    assert "QueueUrls" not in boto3.client("sqs").list_queues()

"""Shared fixtures: the sandbox server, the AWS environment pointing at it, its admin client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
CLEARED_ENV = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """One in-thread sandbox server per test process (xdist worker), on a free port."""
    with SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The sandbox server, reset (every moto backend, settings, clock, faults) before each test."""
    SandboxAdmin(sandbox_server.endpoint_url).reset()
    return sandbox_server


@pytest.fixture
def admin(sandbox: SandboxServer) -> SandboxAdmin:
    """The admin API client of the (freshly reset) sandbox."""
    return SandboxAdmin(sandbox.endpoint_url)


@pytest.fixture
def aws_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials, us-east-1 and AWS_ENDPOINT_URL=<sandbox> in os.environ for the test."""
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name)
    env = {**DUMMY_ENV, "AWS_ENDPOINT_URL": sandbox.endpoint_url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env

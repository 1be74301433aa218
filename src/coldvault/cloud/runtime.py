"""What every Lambda handler shares: its environment, settings, services and structured JSON logs.

The settings are the SSM parameters under ``COLDVAULT_CONFIG_PATH``, resolved by
:func:`coldvault.settings.resolve` exactly as ``coldvault archive --config`` resolves them.

The environment is read through :func:`environ`: the process environment in AWS, or the mapping the
sandbox's in-process Lambda runner sets for one invocation (:func:`function_environment`), so
functions running side by side in one process keep their own settings and credentials.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from coldvault.aws.lambda_runtime import session_from_environment
from coldvault.aws.session import AwsSession
from coldvault.aws.ssm import Ssm
from coldvault.aws.sts import Sts
from coldvault.clock import Clock
from coldvault.config import Settings
from coldvault.errors import ConfigurationError
from coldvault.lease import LeaseOwner
from coldvault.pipeline.services import Services, services_from_session
from coldvault.settings import resolve

CONFIG_PATH_ENV = "COLDVAULT_CONFIG_PATH"
LEASE_HOST = "step-functions"

_ENVIRONMENT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "coldvault_lambda_environment", default=None
)
_log = logging.getLogger("coldvault.cloud")


def environ() -> Mapping[str, str]:
    """The function's environment: the runner's mapping when one is set, else the process's."""
    return _ENVIRONMENT.get() or os.environ


@contextmanager
def function_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run a handler with ``env`` as its environment (the sandbox's in-process runner uses this)."""
    token = _ENVIRONMENT.set(dict(env))
    try:
        yield
    finally:
        _ENVIRONMENT.reset(token)


def log(event: str, execution: str = "", **fields: Any) -> None:
    """One structured JSON log line carrying the execution id (CloudWatch Logs, JSON format)."""
    record = {
        "event": event,
        "execution": execution,
        "function": environ().get("AWS_LAMBDA_FUNCTION_NAME", ""),
    }
    record.update(fields)
    _log.info(json.dumps(record, default=str, sort_keys=True))


def caught_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """A Step Functions ``Catch``'s ``{"Error", "Cause"}``: the error class and its message (a
    Lambda's ``Cause`` is its JSON error, whose ``errorMessage`` is the message)."""
    name = str(error.get("Error") or "States.Runtime")
    cause = str(error.get("Cause") or "")
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    return name, cause or name


@dataclass
class Runtime:
    """One invocation's view of AWS: the session's adapters and the run's settings."""

    env: Mapping[str, str]
    clock: Clock

    @property
    def config_path(self) -> str:
        path = self.env.get(CONFIG_PATH_ENV, "")
        if not path:
            raise ConfigurationError(f"{CONFIG_PATH_ENV} is not set", hint="deploy with coldvault deploy")
        return path

    def load_settings(self, run_id: str) -> Settings:
        aws = cached_session(self.env)
        params = Ssm(aws.client("ssm")).parameters(self.config_path)
        account = Sts(aws.client("sts")).account_id()
        # The same resolver as ``coldvault archive --config``: a bad value is a ConfigurationError that
        # fails the run (ListCandidates' Catch notifies it); an unset key takes the table's default.
        return resolve(
            {},
            params,
            path=self.config_path,
            now=self.clock.now(),
            run_id=run_id,
            account_id=account,
            cli=False,
        )

    def services(self, run_id: str) -> Services:
        aws = cached_session(self.env)
        return services_from_session(aws, clock=self.clock, owner=LeaseOwner(run_id=run_id, host=LEASE_HOST))


_SESSION_KEYS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
)
_SERVICES = ("backup", "ec2", "s3", "sqs", "ssm", "sts")
_sessions: dict[tuple[str, ...], AwsSession] = {}
_sessions_lock = threading.Lock()


def cached_session(env: Mapping[str, str]) -> AwsSession:
    """One session (and its clients) per environment, kept across warm invocations as Lambda code does."""
    key = tuple(env.get(name, "") for name in _SESSION_KEYS)
    with _sessions_lock:
        if key not in _sessions:
            session = session_from_environment(env)
            for service in _SERVICES:  # boto3 sessions are not safe to create clients from in parallel
                session.client(service)
            _sessions[key] = session
        return _sessions[key]


def runtime() -> Runtime:
    env = environ()
    return Runtime(env=env, clock=cached_session(env).clock)  # the endpoint's time, as the CLI

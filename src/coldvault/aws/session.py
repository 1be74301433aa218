"""Building boto3 clients the way the AWS CLI does.

Explicit arguments win over the standard ``AWS_*`` environment (``AWS_PROFILE``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``), which
wins over the shared config files. Clients are created on demand, never at import time.

Retries: the user's own ``AWS_MAX_ATTEMPTS`` / ``AWS_RETRY_MODE`` or the profile's ``max_attempts`` /
``retry_mode`` (``legacy``, ``standard`` or ``adaptive``) are left to botocore; coldvault's retry
settings (:data:`DEFAULT_RETRIES`) apply only when the user set neither.

Logs: every AWS call is logged at INFO on ``coldvault.aws`` (``--verbose``); :func:`enable_wire_log`
turns on botocore's own DEBUG log of requests and responses (``--debug``).

Every response's ``Date`` header feeds the session's :class:`~coldvault.clock.ServerClock`
(``AwsSession.clock``): the endpoint's time, which ages are computed from.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import botocore.exceptions

from coldvault.clock import ServerClock
from coldvault.errors import ConfigurationError, CredentialsError

if TYPE_CHECKING:
    from botocore.config import _RetryDict  # the stubs' type of Config(retries=…)

# Standard retries with a few more attempts than the default: throttling is common at fleet scale.
# Used only when the user configured no retries of their own (environment or profile).
DEFAULT_RETRIES: _RetryDict = {"max_attempts": 8, "mode": "standard"}
DEFAULT_BOTO_CONFIG = botocore.config.Config(user_agent_extra="coldvault")
RETRY_MODES = ("legacy", "standard", "adaptive")

_calls = logging.getLogger("coldvault.aws")


def enable_wire_log(stream: Any) -> logging.Handler:
    """botocore's DEBUG log (each request and response) on ``stream``, as ``boto3.set_stream_logger``
    does; the handler is returned so the caller can remove it again."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s [%(levelname)s] %(message)s"))
    logger = logging.getLogger("botocore")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler


def disable_wire_log(handler: logging.Handler) -> None:
    logger = logging.getLogger("botocore")
    logger.removeHandler(handler)
    if not logger.handlers:
        logger.setLevel(logging.NOTSET)


# The parameters that say what a call is about, shown in its log line.
_SUBJECTS = ("BackupVaultName", "RecoveryPointArn", "Bucket", "Key", "ImageId", "ImageIds", "StackName")


def _note_subject(params: Any = None, context: Any = None, **_: Any) -> None:
    """``provide-client-params`` hook: keep what the call is about for its log line."""
    if isinstance(params, dict) and isinstance(context, dict) and _calls.isEnabledFor(logging.INFO):
        shown = [f"{k}={params[k]}" for k in _SUBJECTS if params.get(k)]
        context["coldvault_subject"] = " ".join(shown)


def _log_call(
    http_response: Any = None,
    parsed: Any = None,
    model: Any = None,
    context: Any = None,
    event_name: str = "",
    **_: Any,
) -> None:
    """``after-call`` hook: one INFO line per AWS call (service, operation, what on, HTTP status, retries)."""
    if not _calls.isEnabledFor(logging.INFO):
        return
    subject = context.get("coldvault_subject", "") if isinstance(context, dict) else ""
    service = event_name.split(".")[1] if event_name.count(".") >= 2 else "aws"
    meta = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
    status = getattr(http_response, "status_code", meta.get("HTTPStatusCode", "?"))
    error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    retries = meta.get("RetryAttempts", 0)
    _calls.info(
        "%s %s%s -> %s%s%s",
        service,
        getattr(model, "name", "?"),
        f" {subject}" if subject else "",
        status,
        f" {error}" if error else "",
        f" after {retries} retries" if retries else "",
    )


def _log_call_error(exception: Exception | None = None, event_name: str = "", **_: Any) -> None:
    """``after-call-error`` hook: a call that got no HTTP answer (connection refused, timeout)."""
    parts = event_name.split(".")
    service, operation = (parts[1], parts[2]) if len(parts) >= 3 else ("aws", "?")
    _calls.info("%s %s -> %s: %s", service, operation, type(exception).__name__, exception)


@dataclass
class AwsSession:
    """One boto3 session plus the endpoint override; hands out cached clients."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    boto_config: botocore.config.Config = DEFAULT_BOTO_CONFIG
    _session: boto3.session.Session | None = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _clock: ServerClock | None = field(default=None, init=False, repr=False)

    @property
    def clock(self) -> ServerClock:
        """The endpoint's time, learned from the ``Date`` of every response of this session's clients
        (STS GetCallerIdentity, which needs no permission, when asked before any call)."""
        if self._clock is None:
            self._clock = ServerClock(probe=self._probe_time)
        return self._clock

    def _probe_time(self) -> None:
        try:
            self.client("sts").get_caller_identity()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return  # the local time stands in; the run's first real call reports the problem

    def _observe_date(self, http_response: Any = None, **_: Any) -> None:
        if http_response is not None:
            self.clock.observe(http_response.headers.get("Date"))

    @property
    def session(self) -> boto3.session.Session:
        if self._session is None:
            session = self._new_session()
            # Registered before any client exists: each client copies the session's handlers.
            session.events.register("after-call", self._observe_date)
            self._session = session
        return self._session

    def _new_session(self) -> boto3.session.Session:
        try:
            return boto3.session.Session(profile_name=self.profile, region_name=self.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise ConfigurationError(
                f"AWS profile {self.profile!r} not found",
                hint="check --profile / AWS_PROFILE against ~/.aws/config",
            ) from exc

    @property
    def region_name(self) -> str:
        name = self.session.region_name
        if not name:
            raise ConfigurationError(
                "no AWS Region configured", hint="pass --region or set AWS_REGION / AWS_DEFAULT_REGION"
            )
        return name

    def config_value(self, name: str) -> str | None:
        """A setting of the selected profile in the shared config file (``output``, ``retry_mode``…)."""
        value = self.session._session.get_scoped_config().get(name)
        return None if value is None else str(value)

    def retry_config(self) -> botocore.config.Config:
        """The user's retry settings when they set any, else coldvault's (:data:`DEFAULT_RETRIES`)."""
        mode = os.environ.get("AWS_RETRY_MODE") or self.config_value("retry_mode")
        attempts = os.environ.get("AWS_MAX_ATTEMPTS") or self.config_value("max_attempts")
        if mode is not None and mode not in RETRY_MODES:
            raise ConfigurationError(
                f"unknown retry mode {mode!r}",
                hint=f"set AWS_RETRY_MODE / retry_mode to {'|'.join(RETRY_MODES)}",
            )
        if attempts is not None and (not attempts.isdigit() or int(attempts) < 1):
            raise ConfigurationError(
                f"max attempts must be a whole number of at least 1, not {attempts!r}",
                hint="fix AWS_MAX_ATTEMPTS / max_attempts",
            )
        if mode is None and attempts is None:
            return self.boto_config.merge(botocore.config.Config(retries=DEFAULT_RETRIES))
        return self.boto_config  # botocore reads the environment and the profile itself

    def client(self, service: str) -> Any:
        """A client for ``service`` (cached). Typed wrappers live in the per-service modules."""
        if service not in self._clients:
            kwargs: dict[str, Any] = {"region_name": self.region_name, "config": self.retry_config()}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            client = self.session.client(service, **kwargs)  # type: ignore[call-overload]
            client.meta.events.register("provide-client-params.*.*", _note_subject)
            client.meta.events.register("after-call.*.*", _log_call)
            client.meta.events.register("after-call-error.*.*", _log_call_error)
            self._clients[service] = client
        return self._clients[service]

    def check_credentials(self) -> None:
        """Fail early, with exit code 2, when no credentials can be found."""
        if self.session.get_credentials() is None:
            raise CredentialsError(
                "no AWS credentials found",
                hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run 'aws configure'",
            )

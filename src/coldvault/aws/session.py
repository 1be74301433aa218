"""Building boto3 clients the way the AWS CLI does.

Explicit arguments win over the standard ``AWS_*`` environment (``AWS_PROFILE``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``), which
wins over the shared config files. Clients are created on demand, never at import time.

Every response's ``Date`` header feeds the session's :class:`~coldvault.clock.ServerClock`
(``AwsSession.clock``): the endpoint's time, which ages are computed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from coldvault.clock import ServerClock
from coldvault.errors import ConfigurationError, CredentialsError

# Standard retries with a few more attempts than the default: throttling is common at fleet scale.
DEFAULT_BOTO_CONFIG = botocore.config.Config(
    retries={"max_attempts": 8, "mode": "standard"},
    user_agent_extra="coldvault",
)


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

    def client(self, service: str) -> Any:
        """A client for ``service`` (cached). Typed wrappers live in the per-service modules."""
        if service not in self._clients:
            kwargs: dict[str, Any] = {"region_name": self.region_name, "config": self.boto_config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[service] = self.session.client(service, **kwargs)  # type: ignore[call-overload]
        return self._clients[service]

    def check_credentials(self) -> None:
        """Fail early, with exit code 2, when no credentials can be found."""
        if self.session.get_credentials() is None:
            raise CredentialsError(
                "no AWS credentials found",
                hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run 'aws configure'",
            )

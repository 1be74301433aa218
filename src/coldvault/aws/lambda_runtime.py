"""The AWS session of a Lambda handler: Region, endpoint and credentials from the function's environment.

Lambda hands a function its credentials and Region as environment variables. Handlers read them
from the mapping they are given (the real environment in AWS; the sandbox's in-process runner passes
each function's own), so two functions running in one process never see each other's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import boto3

from coldvault.aws.session import AwsSession


@dataclass
class LambdaAwsSession(AwsSession):
    """An :class:`AwsSession` whose credentials come from an explicit mapping, not the process."""

    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    def _new_session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.session_token,
            region_name=self.region,
        )


def session_from_environment(env: Mapping[str, str]) -> AwsSession:
    """The session a function with environment ``env`` uses (``AWS_ENDPOINT_URL`` honoured)."""
    return LambdaAwsSession(
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        access_key=env.get("AWS_ACCESS_KEY_ID") or None,
        secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        session_token=env.get("AWS_SESSION_TOKEN") or None,
    )

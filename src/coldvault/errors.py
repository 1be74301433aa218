"""coldvault's errors.

Every error coldvault raises derives from :class:`ColdvaultError`. The class *names* matter: the
Step Functions state machine matches them in ``Retry``/``Catch`` ``ErrorEquals`` (a Lambda that
raises is seen with ``errorType`` = the class name), so renaming one is a breaking change.

``exit_code`` is what the CLI exits with when the error reaches it: 2 for bad usage or
configuration (raised before anything changed), 1 for failures at run time.
"""

from __future__ import annotations


class ColdvaultError(Exception):
    """Base of every coldvault error."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and, when there is one, how to fix it, on one line."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ColdvaultError):
    """Bad flags, settings or environment: nothing was changed."""

    exit_code = 2


class ConfigurationError(UsageError):
    """A setting (flag, environment, SSM parameter) is missing or invalid."""


class PreflightError(UsageError):
    """A resource the run needs is missing or unsafe (vault, bucket, queue): nothing was changed."""


class CredentialsError(UsageError):
    """No AWS credentials could be found."""


class AwsError(ColdvaultError):
    """An AWS call failed in a way coldvault names and handles."""

    def __init__(self, message: str, *, code: str = "", operation: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.operation = operation


class AccessDenied(AwsError):
    """AWS refused the call for lack of permission."""


class Throttled(AwsError):
    """AWS throttled the call past the retries of the SDK: retry later."""


class NotFound(AwsError):
    """The resource does not exist."""


class StoreQuotaExceeded(AwsError):
    """EC2 refused a store task because the bytes in progress are at the quota: wait and retry."""


class StoreTaskFailed(AwsError):
    """An EC2 store image task ended ``Failed``."""


class StoreDeadlineExceeded(ColdvaultError):
    """A store task did not finish before the configured deadline."""


class VerificationFailed(ColdvaultError):
    """The archive does not match the stored object: the recovery point is kept."""


class LeaseHeld(ColdvaultError):
    """Another run holds the lease on this recovery point: it is left alone."""


class RestoreFailed(ColdvaultError):
    """A restore image task or its AMI failed."""


class ImageNameTaken(UsageError):
    """The name asked for a restored AMI is already used by another AMI in the Region."""


class RestoreDeadlineExceeded(ColdvaultError):
    """A Glacier restore or a restored AMI was not ready before the configured deadline."""

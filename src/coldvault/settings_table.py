"""Every coldvault setting as one row: where it comes from, its default, how it is checked, what it means.

A row names the :class:`~coldvault.config.Settings` field it sets, its ``coldvault archive`` flag, its
key under the SSM configuration path (``<path>/<key>``), the CloudFormation parameter the template
writes that key from, its default, its parser and its documentation. :mod:`coldvault.settings` resolves
the rows for both engines (the CLI and the Lambda handlers); ``docs/configuration.md`` is this table
rendered (:func:`markdown`); the tests hold the table against ``Settings`` and ``template.yaml``.

Rows without a field are the deployment's own (the schedule, notifications, bucket encryption, the
Lambda package): listed so the table covers the template, never read by a run.

Adding a setting is one row here and one field in ``Settings``. Run ``python -m coldvault.settings_table``
to print the documentation table after changing a row.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coldvault.config import GB, MIB, parse_iso
from coldvault.models import StorageClass


class Invalid(ValueError):
    """A value a row's parser refuses; the message says what the value must be."""


Parser = Callable[[str, datetime], Any]  # (text, the run's now) -> the Settings field's value


@dataclass(frozen=True)
class Text:
    """Non-empty text, matching ``pattern`` (whole) when one is given."""

    pattern: str | None = None
    must_be: str = ""

    def __call__(self, value: str, now: datetime) -> str:
        value = value.strip()
        if not value:
            raise Invalid("must not be empty")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise Invalid(f"must be {self.must_be}")
        return value


def number(
    *,
    unit: float = 1,
    above: float | None = 0,
    at_least: float | None = None,
    at_most: float | None = None,
    whole: bool = False,
    as_int: bool = False,
) -> Parser:
    """A number in the row's unit, within its bounds, times ``unit`` (an ``int`` when ``whole`` or
    ``as_int``, e.g. bytes)."""
    words = "a whole number" if whole else "a number"
    bounds = [f"above {above:g}"] if above is not None and at_least is None else []
    bounds += [f"at least {at_least:g}"] if at_least is not None else []
    bounds += [f"at most {at_most:g}"] if at_most is not None else []
    must_be = f"must be {words} " + " and ".join(bounds)

    def parse(value: str, now: datetime) -> int | float:
        try:
            figure = float(value.strip())
        except ValueError:
            raise Invalid(must_be) from None
        if (
            not math.isfinite(figure)
            or (whole and figure != int(figure))
            or (at_least is not None and figure < at_least)
            or (at_least is None and above is not None and figure <= above)
            or (at_most is not None and figure > at_most)
        ):
            raise Invalid(must_be)
        scaled = figure * unit
        return int(scaled) if whole or as_int else scaled

    return parse


def boolean(value: str, now: datetime) -> bool:
    word = value.strip().lower()
    if word in {"true", "yes", "on", "1"}:
        return True
    if word in {"false", "no", "off", "0"}:
        return False
    raise Invalid("must be true or false")


@dataclass(frozen=True)
class Choice:
    """One of an enum's values, in any case (a later mode or policy setting is one more ``Choice``)."""

    of: type[enum.StrEnum]

    def __call__(self, value: str, now: datetime) -> enum.StrEnum:
        for choice in self.of:
            if choice.value.lower() == value.strip().lower():
                return choice
        raise Invalid(f"must be one of {', '.join(c.value for c in self.of)}")


def days_before(value: str, now: datetime) -> datetime:
    """``value`` days before ``now``: the cut-off of an age selection."""
    days = number(at_least=0, at_most=36500)(value, now)
    return now - timedelta(days=float(days))


def iso_date(value: str, now: datetime) -> datetime:
    """An ISO 8601 date or date-time; UTC when it has no offset."""
    try:
        return parse_iso(value)
    except ValueError:
        raise Invalid("must be an ISO 8601 date") from None


@dataclass(frozen=True)
class Row:
    """One setting. ``default`` is text in the row's unit, as the SSM key and the template hold it."""

    name: str  # what it is, for messages ("the backup vault")
    field: str | None  # the Settings field it sets; None: the deployment's own
    flag: str | None  # the CLI flag; None: not a flag
    ssm: str | None  # the key under the configuration path; None: not in SSM
    parameter: str | None  # the CloudFormation template parameter; None: none
    default: str | None
    parse: Parser
    doc: str  # the value, for the documentation and the flag's help
    example: str = ""
    metavar: str = "TEXT"
    negative_flag: str | None = None  # a boolean flag's "off" form
    required: bool = False  # no default: a run needs a value
    cli_default: bool = True  # False: the CLI never falls back on the default (an explicit choice)
    plan: bool = False  # also a flag of ``coldvault plan`` (it changes the selection or its cost)

    @property
    def boolean(self) -> bool:
        return self.parse is boolean

    @property
    def flag_key(self) -> str:
        """The flag's Python name (``--older-than`` → ``older_than``)."""
        return (self.flag or "").lstrip("-").replace("-", "_")

    @property
    def sample(self) -> str:
        return self.example or self.default or ""


_deployment = Text()

ROWS: tuple[Row, ...] = (
    Row(
        name="the backup vault",
        field="vault",
        flag="--vault",
        ssm="vault",
        parameter="BackupVaultName",
        default=None,
        parse=Text(
            r"[a-zA-Z0-9_-]{2,50}", "a backup vault name (2-50 letters, digits, hyphens, underscores)"
        ),
        doc="AWS Backup vault whose EC2 recovery points are archived",
        example="Default",
        metavar="NAME",
        required=True,
        plan=True,
    ),
    Row(
        name="the archive bucket",
        field="bucket",
        flag="--bucket",
        ssm="bucket",
        parameter="ArchivalBucketName",
        default=None,
        parse=Text(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name (3-63 of a-z 0-9 . -)"),
        doc="S3 bucket the archives go to (same Region, private, encrypted)",
        example="my-archive",
        metavar="NAME",
        required=True,
        plan=True,
    ),
    Row(
        name="the recovery points' age",
        field="cutoff",
        flag="--older-than",
        ssm="older-than-days",
        parameter="DaysRecoveryPointsCreatedBefore",
        default="90",
        parse=days_before,
        doc="days (0 to 36500): archive recovery points created more than this many days before the run. "
        "The schedule uses the default; the CLI needs `--older-than`, `--created-before` or `--config`",
        example="90",
        metavar="DAYS",
        cli_default=False,
        plan=True,
    ),
    Row(
        name="the creation date",
        field="cutoff",
        flag="--created-before",
        ssm=None,
        parameter=None,
        default=None,
        parse=iso_date,
        doc="ISO 8601 date or date-time (UTC without an offset): archive recovery points created before "
        "it, instead of `--older-than`",
        example="2026-01-31",
        metavar="DATE",
        plan=True,
    ),
    Row(
        name="the storage class",
        field="storage_class",
        flag="--storage-class",
        ssm="storage-class",
        parameter="ArchiveStorageClass",
        default="GLACIER_IR",
        parse=Choice(StorageClass),
        doc="`GLACIER_IR` | `GLACIER` | `DEEP_ARCHIVE`: the archives' S3 storage class",
        example="DEEP_ARCHIVE",
        metavar="CLASS",
        plan=True,
    ),
    Row(
        name="undeletable points",
        field="include_undeletable",
        flag="--include-undeletable",
        negative_flag="--skip-undeletable",
        ssm="include-undeletable",
        parameter=None,
        default="false",
        parse=boolean,
        doc="`true` | `false`: also archive points that Vault Lock or a legal hold keeps (they end retained)",
        plan=True,
    ),
    Row(
        name="the concurrency",
        field="concurrency",
        flag="--concurrency",
        ssm="concurrency",
        parameter="MaxConcurrency",
        default="10",
        parse=number(at_least=1, whole=True),
        doc="recovery points in flight at once (in the cloud, the Map's `MaxConcurrency`, at most 40)",
        metavar="N",
    ),
    Row(
        name="the store work in progress",
        field="max_in_progress_bytes",
        flag="--max-in-progress-gb",
        ssm="max-in-progress-gb",
        parameter="MaxInProgressGB",
        default="1200",
        parse=number(unit=GB, as_int=True),
        doc="GB of store image tasks in progress at most (EC2's quota: 1,200 GB in newer documents)",
        metavar="GB",
    ),
    Row(
        name="the status queue",
        field="queue_url",
        flag="--queue-url",
        ssm="queue-url",
        parameter=None,
        default=None,
        parse=Text(),
        doc="SQS queue URL for one status message per point (the stack writes its own queue's URL)",
        example="https://sqs.us-east-1.amazonaws.com/123456789012/coldvault-status",
        metavar="URL",
    ),
    Row(
        name="content verification",
        field="verify_content",
        flag="--verify-content",
        ssm="verify-content",
        parameter=None,
        default="false",
        parse=boolean,
        doc="`true` | `false`: also stream the archive and compare its checksum with the stored object's",
    ),
    Row(
        name="the multipart threshold",
        field="copy_threshold_bytes",
        flag="--copy-threshold-mb",
        ssm="copy-threshold-mb",
        parameter=None,
        default="5120",
        parse=number(unit=MIB, as_int=True),
        doc="MiB: one `CopyObject` up to this size (S3's limit is 5 GiB), a multipart copy above",
        metavar="MB",
    ),
    Row(
        name="the part size",
        field="part_size_bytes",
        flag="--part-size-mb",
        ssm="part-size-mb",
        parameter=None,
        default="64",
        parse=number(unit=MIB, as_int=True),
        doc="MiB: the smallest part of a multipart copy (at least 5 MiB; grown to stay within 10,000 parts)",
        metavar="MB",
    ),
    Row(
        name="the copy concurrency",
        field="copy_concurrency",
        flag="--copy-concurrency",
        ssm="copy-concurrency",
        parameter=None,
        default="8",
        parse=number(at_least=1, whole=True),
        doc="parts of one multipart copy in flight at once",
        metavar="N",
    ),
    Row(
        name="the shortest store poll",
        field="min_poll_seconds",
        flag="--poll-min-seconds",
        ssm="poll-min-seconds",
        parameter=None,
        default="15",
        parse=number(),
        doc="seconds: the shortest interval between two polls of a store task",
        metavar="SECONDS",
    ),
    Row(
        name="the longest store poll",
        field="max_poll_seconds",
        flag=None,
        ssm="poll-max-seconds",
        parameter=None,
        default="600",
        parse=number(),
        doc="seconds: the longest interval between two polls of a store task",
        metavar="SECONDS",
    ),
    Row(
        name="the store deadline",
        field="store_deadline_seconds",
        flag="--store-deadline-hours",
        ssm="store-deadline-hours",
        parameter=None,
        default="48",
        parse=number(unit=3600),
        doc="hours: a store task still running after this fails its point (the task is reused next run)",
        metavar="HOURS",
    ),
    Row(
        name="the quota wait",
        field="quota_wait_deadline_seconds",
        flag="--quota-wait-hours",
        ssm="quota-wait-hours",
        parameter=None,
        default="12",
        parse=number(unit=3600),
        doc="hours: how long a store refused by EC2's quota is retried before the point fails",
        metavar="HOURS",
    ),
    Row(
        name="the lease",
        field="lease_seconds",
        flag=None,
        ssm="lease-minutes",
        parameter=None,
        default="30",
        parse=number(unit=60),
        doc="minutes: how long a run's claim on a recovery point lasts without renewal (its holder renews "
        "it while it works on the point; longer than the longest store poll)",
        metavar="MINUTES",
    ),
    Row(
        name="the progress interval",
        field="progress_seconds",
        flag="--progress-interval",
        ssm=None,
        parameter=None,
        default="60",
        parse=number(at_least=1),
        doc="seconds: without a terminal, a progress line (points, bytes, rate, ETA) at least this often",
        metavar="SECONDS",
    ),
    Row(
        name="the batch size",
        field="items_per_execution",
        flag=None,
        ssm="items-per-execution",
        parameter="ItemsPerExecution",
        default="100",
        parse=number(at_least=1, at_most=250, whole=True),
        doc="recovery points per state machine execution; a larger run continues in new executions "
        "(cloud only)",
        metavar="N",
    ),
    Row(
        name="the schedule",
        field=None,
        flag=None,
        ssm="schedule",
        parameter="ScheduleWindow",
        default="cron(0 3 ? * SUN *)",
        parse=_deployment,
        doc="EventBridge schedule expression of the archive runs (cloud only)",
    ),
    Row(
        name="the notification address",
        field=None,
        flag=None,
        ssm="notification-email",
        parameter="NotificationEmail",
        default="",
        parse=_deployment,
        doc="e-mail told when a run fails or keeps points (cloud only; the key is written when set)",
    ),
    Row(
        name="the bucket key",
        field=None,
        flag=None,
        ssm="kms-key-arn",
        parameter="KmsKeyArn",
        default="",
        parse=_deployment,
        doc="KMS key ARN of the bucket's SSE-KMS, empty for SSE-S3 (cloud only; the key is written when set)",
    ),
    Row(
        name="bucket creation",
        field=None,
        flag=None,
        ssm=None,
        parameter="CreateArchivalBucket",
        default="true",
        parse=_deployment,
        doc="`true` creates the bucket (kept when the stack is deleted); `false` uses an existing one",
    ),
    Row(
        name="the package bucket",
        field=None,
        flag=None,
        ssm=None,
        parameter="ArtifactBucket",
        default=None,
        parse=_deployment,
        doc="bucket of the Lambda package (set by `coldvault deploy`)",
    ),
    Row(
        name="the package key",
        field=None,
        flag=None,
        ssm=None,
        parameter="ArtifactKey",
        default=None,
        parse=_deployment,
        doc="key of the Lambda package (set by `coldvault deploy`)",
    ),
)

RUN_FIELDS = frozenset({"run_id", "account_id"})  # Settings fields a run sets itself, never configured


def settings_rows() -> tuple[Row, ...]:
    """The rows a run resolves (those that set a Settings field)."""
    return tuple(r for r in ROWS if r.field is not None)


def by_flag(flag: str) -> Row:
    (row,) = (r for r in ROWS if r.flag == flag)
    return row


def _cell(value: str | None) -> str:
    return f"`{value}`" if value else "—"


def markdown() -> str:
    """The table as ``docs/configuration.md`` shows it."""
    lines = [
        "| CLI flag | SSM key (`<path>/…`) | CloudFormation parameter | default | value |",
        "|---|---|---|---|---|",
    ]
    for row in ROWS:
        flag = f"{row.flag}/{row.negative_flag}" if row.negative_flag else row.flag
        default = "(required)" if row.required else "empty" if row.default == "" else _cell(row.default)
        doc = row.doc.replace("|", "\\|")  # a pipe in a cell, code span or not, ends the cell
        lines.append(f"| {_cell(flag)} | {_cell(row.ssm)} | {_cell(row.parameter)} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

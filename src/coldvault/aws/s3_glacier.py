"""What S3 says about an archived object's Glacier restore: its state, and the outcome of a
``RestoreObject`` call (the calls themselves are :class:`coldvault.aws.s3.S3` methods).

S3 reports a restore in the ``Restore`` header of ``HeadObject``: ``ongoing-request="true"`` while it
runs, ``ongoing-request="false", expiry-date="…"`` once the temporary copy is readable (S3 API
reference, HeadObject). Objects in classes read at once (``GLACIER_IR``, ``STANDARD``…) need none.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime


class RestoreStatus(enum.StrEnum):
    """Where an archived object stands with respect to ``RestoreObject``."""

    NONE = "none"  # cold, no restore requested (or the restored copy expired)
    IN_PROGRESS = "in progress"  # Restore: ongoing-request="true"
    READABLE = "readable"  # Restore: ongoing-request="false" (a temporary copy), or a class read at once


@dataclass(frozen=True)
class ArchiveState:
    """What ``HeadObject`` says about an archive object."""

    key: str
    storage_class: str
    size: int
    restore: RestoreStatus
    restore_expiry: datetime | None = None
    etag: str = ""

    @property
    def readable(self) -> bool:
        return self.restore is RestoreStatus.READABLE


class RestoreRequest(enum.StrEnum):
    """The outcome of one ``RestoreObject`` call."""

    STARTED = "started"  # 202: a new restore was accepted
    ALREADY_READABLE = "already readable"  # 200: a restored copy exists (its expiry was extended)
    ALREADY_IN_PROGRESS = "already in progress"  # RestoreAlreadyInProgress: no second request made
    # 503 GlacierExpeditedRetrievalNotAvailable: no Expedited capacity now (S3 API reference,
    # RestoreObject); nothing was started.
    EXPEDITED_UNAVAILABLE = "expedited unavailable"


_ONGOING_RE = re.compile(r'ongoing-request="(?P<ongoing>true|false)"')
_EXPIRY_RE = re.compile(r'expiry-date="(?P<expiry>[^"]+)"')
_NEEDS_RESTORE = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def parse_restore_header(storage_class: str, header: str | None) -> tuple[RestoreStatus, datetime | None]:
    """The restore status from an object's class and its ``Restore`` header (pure)."""
    if storage_class not in _NEEDS_RESTORE:
        return RestoreStatus.READABLE, None
    if not header:
        return RestoreStatus.NONE, None
    ongoing = _ONGOING_RE.search(header)
    if ongoing and ongoing.group("ongoing") == "true":
        return RestoreStatus.IN_PROGRESS, None
    expiry_match = _EXPIRY_RE.search(header)
    expiry = parsedate_to_datetime(expiry_match.group("expiry")) if expiry_match else None
    return RestoreStatus.READABLE, expiry

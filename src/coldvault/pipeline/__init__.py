"""The archive steps for one recovery point, shared by both engines.

Contract (the CLI runner calls these in-process; the cloud deployment calls each from a Lambda handler,
one per Step Functions Task state). State crossing a step boundary is plain JSON:
``Settings.to_json()/from_json()`` and ``PointWork.to_json()/from_json()`` (one item well under 8 KB).
Every step is idempotent: it observes AWS first and continues from what is already done; a step handed
a ``PointWork`` whose ``stage`` it does not handle returns it unchanged.

=====================================================================  ===================================
step                                                                    stage in -> out
=====================================================================  ===================================
``list_candidates(svc, settings) -> Plan``                              (read-only; ``new_work`` per point)
``start_store(svc, settings, work) -> PointWork``                       SELECTED -> STORING | STORED |
                                                                        VERIFIED | DONE (LEASED)
``check_stores(svc, settings, works, *, poll_budget=None)``             STORING -> STORING | STORED | DONE
``copy_archive(svc, settings, work, *, time_budget_seconds=None,``      STORED/COPYING -> COPYING | COPIED
``complete_reserve_seconds=0)``
``verify_archive(svc, settings, work) -> PointWork``                    COPIED -> VERIFIED
``delete_recovery_point(svc, settings, work) -> PointWork``             VERIFIED -> DONE (ARCHIVED|RETAINED)
``publish_result(svc, settings, work) -> PointWork``                    any -> DONE (result + SQS, lease
                                                                        released)
``write_report(svc, settings, run_id, started) -> Report``              (after every point is published)
=====================================================================  ===================================

Errors the state machine matches by class name (``coldvault.errors``): ``StoreQuotaExceeded`` (retry
later), ``Throttled`` (retry), ``StoreTaskFailed``, ``StoreDeadlineExceeded``, ``CopyDeadlineExceeded``,
``VerificationFailed``,
``AccessDenied``, ``AwsError`` (catch: record the point as failed with ``failed(work, error)`` and
publish it). ``check_stores`` sets ``next_poll_seconds`` (for a ``Wait`` state's ``SecondsPath``);
``copy_archive`` returns ``COPYING`` when its time budget ran out (loop back to it: every call copies at
least one part or completes, and the copy deadline ends the loop). The lease is taken
by ``start_store`` (a held lease gives ``DONE``/``LEASED``) and released by ``publish_result``.
"""

from coldvault.pipeline.common import failed
from coldvault.pipeline.copy import copy_archive
from coldvault.pipeline.finish import delete_recovery_point, new_work, publish_result, status_message
from coldvault.pipeline.listing import list_candidates
from coldvault.pipeline.services import Services, services_from_session
from coldvault.pipeline.store import check_stores, poll_interval, start_store
from coldvault.pipeline.verify import verify_archive

__all__ = [
    "Services",
    "check_stores",
    "copy_archive",
    "delete_recovery_point",
    "failed",
    "list_candidates",
    "new_work",
    "poll_interval",
    "publish_result",
    "services_from_session",
    "start_store",
    "status_message",
    "verify_archive",
    "write_report",
]


def __getattr__(name: str) -> object:
    # write_report lives in coldvault.report (which imports this package's services): loaded lazily.
    if name == "write_report":
        from coldvault.report import write_report

        return write_report
    raise AttributeError(name)

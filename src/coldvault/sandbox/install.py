"""Install every sandbox addition into moto, once, before any moto server or app is built.

Flask builds a service's routes when its app is first created, so the Backup routes must be in
``moto.backup.urls.url_paths`` before the server answers its first Backup call.
"""

from __future__ import annotations

import threading
from typing import Any

SANDBOX_MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

_lock = threading.Lock()
_done: list[bool] = []  # one element once installed


def install() -> None:
    """Idempotent: Backup recovery points, jobs and legal holds, EC2 store/restore tasks and CopyImage,
    Glacier restores, the in-process Lambda runner, executing stack state machines, the reset hook,
    and moto's configuration for the sandbox."""
    with _lock:
        if _done:
            return
        from coldvault.sandbox import (
            backup_responses,
            cfn_buckets,
            cfn_change_sets,
            cfn_stacks,
            ebs_responses,
            ec2_copy,
            ec2_responses,
            lambda_runner,
            s3_multipart,
            s3_restore,
            state,
            stepfunctions,
        )

        backup_responses.install()  # recovery points, backup jobs, legal holds
        ec2_responses.install()  # store and restore image tasks
        ec2_copy.install()  # CopyImage with the source's devices, encryption, tags and ClientToken
        ebs_responses.install()  # ListSnapshotBlocks/ListChangedBlocks over incremental lineages
        s3_multipart.install()  # part checksums kept, listed and checked at CompleteMultipartUpload
        s3_restore.install()  # RestoreObject on virtual time: in progress, RestoreAlreadyInProgress, expiry
        # The in-process Lambda runner: moto's LambdaSimpleBackend.invoke only echoes.
        lambda_runner.install()
        cfn_buckets.install()  # stacks' buckets keep Block Public Access
        cfn_stacks.install()  # parameters as strings, rollbacks, "No updates are to be performed."
        cfn_change_sets.install()  # after the stacks' patches: change sets create and update through them
        # Stack-created state machines execute; Wait/Retry follow sandbox time.
        stepfunctions.install()
        state.install_reset_hook()
        configure_moto()
        quiet_moto_cloudformation()
        _done.append(True)


def quiet_moto_cloudformation() -> None:
    """moto's CloudFormation warns (a log line and a UserWarning) for each resource type it does not
    apply, such as AWS::S3::BucketPolicy. What it skips is proven by the template linters instead
    (docs/cloud.md), so the sandbox's users are not shown that noise."""
    import logging
    import warnings

    class _SkipUnsupportedResource(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not str(record.msg).startswith("No Moto CloudFormation support")

    logging.getLogger("moto").addFilter(_SkipUnsupportedResource())
    warnings.filterwarnings("ignore", message=r"Tried to parse AWS::", category=UserWarning)


def configure_moto() -> None:
    """Apply :data:`SANDBOX_MOTO_CONFIG` (moto's reset does not undo it; calling again is harmless)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config(SANDBOX_MOTO_CONFIG)

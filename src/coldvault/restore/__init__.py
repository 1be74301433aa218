"""Restoring archives as AMIs: :mod:`~coldvault.restore.steps` (the idempotent steps both engines
use), :mod:`~coldvault.restore.policy` (pure rules: options, names, tags, waits, retrieval estimates) and
:mod:`~coldvault.restore.engine` (the CLI engine)."""

from coldvault.restore.engine import publish, run_restore
from coldvault.restore.policy import Estimate, RestoreOptions, Stage, estimate
from coldvault.restore.steps import RestoreWork

__all__ = [
    "Estimate",
    "RestoreOptions",
    "RestoreWork",
    "Stage",
    "estimate",
    "publish",
    "run_restore",
]

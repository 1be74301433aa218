"""``python tests/support/crash_cli.py STEP[:N] ARGS…``: run ``coldvault ARGS…`` and SIGKILL the process
the N-th time (default the first) a point passes STEP, as a power cut would.

Test-only: it installs a :class:`~coldvault.pipeline.services.StepObserver` around the CLI's ``main``;
the product knows nothing of it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from coldvault.cli.app import main
from coldvault.pipeline.services import StepObserver, observing_steps


def killer(spec: str) -> StepObserver:
    step, _, count = spec.partition(":")
    remaining = [int(count) if count else 1]
    lock = threading.Lock()

    def observe(name: str, ami_id: str) -> None:
        if name != step:
            return
        with lock:
            remaining[0] -= 1
            if remaining[0] <= 0:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    return observe


if __name__ == "__main__":
    with observing_steps(killer(sys.argv[1])):
        main(sys.argv[2:])

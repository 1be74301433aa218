"""``--verbose`` and ``--debug``: stdlib logging on stderr.

coldvault logs under ``coldvault.<module>`` (``coldvault.aws``: one INFO line per AWS call).
``--verbose`` shows coldvault's INFO lines; ``--debug`` shows its DEBUG lines and adds botocore's
wire log (:func:`coldvault.aws.session.enable_wire_log`). Without either nothing is logged. Set up
again on every run, so running the CLI twice in one process (the tests) leaves no handler behind.
"""

from __future__ import annotations

import logging
import sys

from coldvault.aws.session import disable_wire_log, enable_wire_log

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"

_installed: list[tuple[logging.Logger, logging.Handler]] = []
_wire: list[logging.Handler] = []


def configure(*, verbose: bool, debug: bool) -> None:
    reset()
    if not (verbose or debug):
        return
    logger = logging.getLogger("coldvault")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    _installed.append((logger, handler))
    if debug:
        _wire.append(enable_wire_log(sys.stderr))


def reset() -> None:
    """Remove what :func:`configure` installed."""
    while _installed:
        logger, handler = _installed.pop()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    while _wire:
        disable_wire_log(_wire.pop())

"""``coldvault demo``: the whole story on an offline sandbox, nothing touching AWS, nothing left running.

:func:`run_demo` starts the sandbox in-process, runs :data:`STEPS` against it and stops it; the CLI
command (:mod:`coldvault.cli.demo_cmd`) only calls it. The demo uses the product's own commands and
steps; nothing in the product depends on it.
"""

from __future__ import annotations

from coldvault.demo.story import STEPS, DemoContext, Step, run_demo

__all__ = ["STEPS", "DemoContext", "Step", "run_demo"]

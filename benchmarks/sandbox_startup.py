"""How long the sandbox takes to start: in-process and as the ``coldvault sandbox`` command.

    .venv/bin/python benchmarks/sandbox_startup.py [--runs 5]

Every run is a fresh Python process, so imports (moto, Flask, botocore's models) are counted, as a
user starting the sandbox pays them:

- ``server_start_cold``: ``SandboxServer(port=0).start()`` in a process that has imported only
  ``coldvault.sandbox.server`` — what a test session or ``coldvault demo`` pays once;
- ``server_start_warm``: a second ``SandboxServer`` started (after stopping the first) in that process;
- ``command_no_seed`` / ``command_seed``: ``coldvault sandbox --port 0 [--no-seed]`` from process start
  until it prints its ``export AWS_ENDPOINT_URL=`` line (the seed: 8 instances, 164 recovery points).

Writes benchmarks/results/sandbox_startup.json (seconds: median, min, max of the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEADLINE = 120.0  # seconds for one start-up before the run is reported as failed

IN_PROCESS = """
import json, time
from coldvault.sandbox.server import SandboxServer
t0 = time.perf_counter()
first = SandboxServer(port=0).start()
cold = time.perf_counter() - t0
first.stop()
t0 = time.perf_counter()
second = SandboxServer(port=0).start()
warm = time.perf_counter() - t0
second.stop()
print(json.dumps({"server_start_cold": cold, "server_start_warm": warm}))
"""


def in_process_run() -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS], capture_output=True, text=True, check=True, timeout=DEADLINE
    )
    return {k: float(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def command_run(seed: bool) -> float:
    """Seconds from starting ``coldvault sandbox`` until it prints its endpoint; then SIGTERM."""
    argv = [str(BIN / "coldvault"), "sandbox", "--port", "0", "--seed" if seed else "--no-seed"]
    t0 = time.perf_counter()
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    elapsed = None
    try:
        for line in process.stdout:
            if "export AWS_ENDPOINT_URL=" in line:
                elapsed = time.perf_counter() - t0
                break
            if time.perf_counter() - t0 > DEADLINE:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=DEADLINE)
    if elapsed is None:
        raise RuntimeError(f"{' '.join(argv)} did not print its endpoint (exit {process.returncode})")
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sandbox_startup.json")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {
        "server_start_cold": [],
        "server_start_warm": [],
        "command_no_seed": [],
        "command_seed": [],
    }
    for _ in range(args.runs):
        for name, seconds in in_process_run().items():
            samples[name].append(seconds)
        samples["command_no_seed"].append(command_run(seed=False))
        samples["command_seed"].append(command_run(seed=True))
    result = {
        "runs": args.runs,
        "seconds": {name: summary(values) for name, values in samples.items()},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    json.dump(result["seconds"], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``plan`` over a vault of 2,000 and 20,000 recovery points: time and peak memory.

The listing is streamed (paginator); only candidates and skipped points are kept. Peak memory is
measured with tracemalloc around ``list_candidates`` plus the estimate, and reported per point, so
the figure shows whether memory grows beyond the candidate list itself. Half the vault is younger than
the cut-off (left alone, not kept in memory). The sandbox runs in this process, the measured plan in a
child process, so the server's own allocations are not counted. Points seeded without AMIs are skipped
as "AMI not found" (kept, with their reason); one run with AMIs has real candidates.

    .venv/bin/python benchmarks/plan_scale.py
Writes benchmarks/results/plan_scale.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

from archive_common import CallCounter, make_bucket, sandbox
from coldvault import pipeline, pricing
from coldvault.aws.session import AwsSession
from coldvault.config import Settings
from coldvault.pipeline.services import services_from_session
from coldvault.sandbox import admin as sandbox_admin
from coldvault.sandbox.seed import seed_bulk

RESULTS = Path(__file__).parent / "results" / "plan_scale.json"


def measure_here() -> dict[str, Any]:
    """In the child process (the sandbox runs in the parent): time one plan, then peak memory of another."""
    aws = AwsSession()
    counter = CallCounter()
    counter.attach(aws)
    svc = services_from_session(aws)
    # seeded points span two years: a one-year cut-off leaves about half of them too recent
    cutoff = svc.clock.now() - timedelta(days=365)
    settings = Settings(vault="coldvault-demo", bucket="bench-plan", cutoff=cutoff, run_id="bench")
    svc.backup.describe_vault("coldvault-demo")  # clients and service models loaded before measuring
    svc.ec2.describe_images(["ami-00000000000000000"])
    svc.s3.head("bench-plan", "none")
    counter.calls.clear()
    started = time.perf_counter()
    plan = pipeline.list_candidates(svc, settings)
    estimate = pricing.estimate(plan.candidates, settings.storage_class, pricing.Prices(), svc.clock.now())
    elapsed = time.perf_counter() - started
    calls = dict(sorted(counter.calls.items()))
    del plan, estimate
    tracemalloc.start()
    plan = pipeline.list_candidates(svc, settings)
    pricing.estimate(plan.candidates, settings.storage_class, pricing.Prices(), svc.clock.now())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = len(plan.candidates) + len(plan.skipped)
    return {
        "listed": plan.listed,
        "candidates": len(plan.candidates),
        "skipped_kept": len(plan.skipped),
        "too_recent_not_kept": plan.too_recent,
        "seconds": round(elapsed, 2),
        "peak_mib": round(peak / 2**20, 2),
        "peak_bytes_per_kept_point": round(peak / max(kept, 1)),
        "api_calls": calls,
    }


def measure(points: int, *, with_amis: bool) -> dict[str, Any]:
    sandbox_admin.reset()
    seed_bulk(points=points, instances=500, seed=1, with_amis=with_amis)
    make_bucket("bench-plan")
    child = subprocess.run(
        [sys.executable, __file__, "--measure"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    return {"vault_points": points, "with_amis": with_amis, **json.loads(child.stdout)}


def main() -> None:
    if "--measure" in sys.argv:
        print(json.dumps(measure_here()))
        return
    with sandbox():
        runs = [measure(n, with_amis=False) for n in (2_000, 20_000)]
        runs.append(measure(2_000, with_amis=True))
    for r in runs:
        print(json.dumps(r))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "plan_scale", "runs": runs}, indent=1) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()

"""Benchmark: 200 seeded recovery points archived in the sandbox, two ways.

(a) a one-at-a-time baseline: one recovery point at a time, one DescribeStoreImageTasks poll per
    point at a fixed interval; (b) coldvault's defaults: up to 10 points in flight under the store
    quota, batched polls (20 AMIs per call) at an interval that follows progress.
Both use the same pipeline steps; time is scaled (the sandbox stores at 2 TB/s) so a run takes
seconds: the ratio, and the API calls per recovery point by operation, are what carry over.

    .venv/bin/python benchmarks/archive_throughput.py [--points 200]
Writes benchmarks/results/archive_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from archive_common import CallCounter, make_bucket, sandbox
from coldvault import pipeline
from coldvault.aws.session import AwsSession
from coldvault.config import Settings, new_run_id
from coldvault.lease import LeaseOwner
from coldvault.pipeline.services import services_from_session
from coldvault.runner import Runner
from coldvault.sandbox import admin as sandbox_admin
from coldvault.sandbox.seed import seed_fleet

RESULTS = Path(__file__).parent / "results" / "archive_throughput.json"


def run(label: str, *, points: int, concurrency: int, min_poll: float, max_poll: float) -> dict[str, Any]:
    sandbox_admin.reset()
    sandbox_admin.update_settings({"store_bytes_per_second": 2e12})
    instances = max(1, points // 10)
    seed_fleet(
        instances=instances, daily_days=points // instances, monthly_months=0, unusable=False, ebs_point=False
    )
    bucket = f"bench-{label}"
    make_bucket(bucket)
    aws = AwsSession()
    counter = CallCounter()
    counter.attach(aws)
    run_id = new_run_id()
    svc = services_from_session(aws, owner=LeaseOwner(run_id, socket.gethostname(), os.getpid()))
    settings = Settings(
        vault="coldvault-demo",
        bucket=bucket,
        cutoff=svc.clock.now(),
        run_id=run_id,
        concurrency=concurrency,
        min_poll_seconds=min_poll,
        max_poll_seconds=max_poll,
    )
    started = time.perf_counter()
    plan = pipeline.list_candidates(svc, settings)
    works = [pipeline.new_work(settings, p) for p in plan.candidates]
    done = Runner(svc, settings).run(works)
    elapsed = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for w in done:
        outcomes[str(w.outcome)] = outcomes.get(str(w.outcome), 0) + 1
    n = max(1, len(works))
    return {
        "label": label,
        "points": len(works),
        "concurrency": concurrency,
        "poll_seconds": [min_poll, max_poll],
        "wall_seconds": round(elapsed, 2),
        "outcomes": outcomes,
        "api_calls_total": sum(counter.calls.values()),
        "api_calls_per_point": round(sum(counter.calls.values()) / n, 2),
        "api_calls_per_point_by_operation": {k: round(v / n, 2) for k, v in sorted(counter.calls.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200)
    args = parser.parse_args()
    with sandbox():
        baseline = run("one-at-a-time", points=args.points, concurrency=1, min_poll=1.0, max_poll=1.0)
        print(json.dumps(baseline, indent=1))
        ours = run("coldvault-defaults", points=args.points, concurrency=10, min_poll=0.25, max_poll=1.0)
        print(json.dumps(ours, indent=1))
    result = {
        "benchmark": "archive_throughput",
        "time_scale": "sandbox stores at 2e12 bytes/s; poll intervals scaled (1 s here ~ 1 min on AWS)",
        "a_one_at_a_time": baseline,
        "b_coldvault_defaults": ours,
        "wall_time_ratio_a_over_b": round(baseline["wall_seconds"] / max(ours["wall_seconds"], 1e-9), 2),
        "describe_store_calls_ratio_a_over_b": round(
            baseline["api_calls_per_point_by_operation"].get("ec2:DescribeStoreImageTasks", 0)
            / max(ours["api_calls_per_point_by_operation"].get("ec2:DescribeStoreImageTasks", 1e-9), 1e-9),
            2,
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"ratio a/b wall time {result['wall_time_ratio_a_over_b']}; written to {RESULTS}")


if __name__ == "__main__":
    main()

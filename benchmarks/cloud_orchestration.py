"""Step Functions state transitions and Lambda invocations per recovery point, and the orchestration
cost per 1,000 points at list prices, measured on a seeded fleet archived by the deployed stack in the
sandbox.

    .venv/bin/python benchmarks/cloud_orchestration.py [--instances 10] [--items-per-execution 100]

Writes benchmarks/results/cloud_orchestration.json. Counts come from GetExecutionHistory of every
execution of the run (a run larger than ItemsPerExecution continues in new executions).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from coldvault.aws.session import AwsSession
from coldvault.aws.stepfunctions import StepFunctions, event_counts, transitions
from coldvault.clock import SystemClock
from coldvault.cloud import deploy
from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer

# us-east-1 list prices (checked 2026-11; override with --prices FILE holding the same keys)
PRICES = {
    "date": "2026-11",
    "sfn_standard_per_1000_transitions": 0.025,
    "lambda_per_million_requests": 0.20,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "sqs_per_million_requests": 0.40,
    "sns_per_million_publishes": 0.50,
}
# Lambda duration is not measurable in the sandbox: an assumed mean per invocation, stated in the results.
ASSUMED_SECONDS = {"default": 1.0, "CopyArchive": 30.0, "ListCandidates": 5.0, "WriteReport": 5.0}
MEMORY_MB = {
    "ListCandidates": 512,
    "CopyArchive": 1024,
    "VerifyArchive": 512,
    "WriteReport": 1024,
    "default": 256,
}
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _lambda_states(events: list[dict[str, Any]]) -> Counter[str]:
    """Lambda invocations by Task state name (a TaskScheduled of resource type lambda after its state)."""
    by_id = {e["id"]: e for e in events}
    found: Counter[str] = Counter()
    for event in events:
        details = event.get("taskScheduledEventDetails")
        if event["type"] == "TaskScheduled" and details and details.get("resourceType") == "lambda":
            previous = by_id.get(event.get("previousEventId"))
            name = (previous or {}).get("stateEnteredEventDetails", {}).get("name", "?")
            found[name] += 1
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--monthly-months", type=int, default=2)
    parser.add_argument("--items-per-execution", type=int, default=100)
    parser.add_argument("--prices", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "cloud_orchestration.json"
    )
    args = parser.parse_args()
    prices = {**PRICES, **(json.loads(args.prices.read_text()) if args.prices else {})}
    os.environ.update(ENV)
    with SandboxServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        admin = SandboxAdmin(server.endpoint_url)
        admin.seed(
            vault_name="bench", instances=args.instances, daily_days=1, monthly_months=args.monthly_months
        )
        aws = AwsSession(region="us-east-1", endpoint_url=server.endpoint_url)
        overrides = {
            "ArchivalBucketName": "bench-archive",
            "BackupVaultName": "bench",
            "DaysRecoveryPointsCreatedBefore": "20",
            "ItemsPerExecution": str(args.items_per_execution),
            "MaxConcurrency": "10",
        }
        plan = deploy.plan_deploy(aws, "bench", overrides, None)
        deploy.execute_deploy(aws, plan, SystemClock())
        started = time.monotonic()
        handle = deploy.start_run(aws, "bench")
        outcome = deploy.follow_run(aws, handle, SystemClock(), seconds=1800, poll_seconds=0.5)
        wall = time.monotonic() - started
        sfn = StepFunctions(boto3.client("stepfunctions"))
        histories = [sfn.history(arn) for arn in outcome.executions]
    points = sum(outcome.counts.get(k, 0) for k in ("archived", "retained", "failed", "leased"))
    total_transitions = sum(transitions(h) for h in histories)
    lambda_by_state: Counter[str] = Counter()
    for history in histories:
        lambda_by_state.update(_lambda_states(history))
    invocations = sum(lambda_by_state.values())
    events_per_execution = [len(h) for h in histories]
    gb_seconds = sum(
        n * ASSUMED_SECONDS.get(s, ASSUMED_SECONDS["default"]) * MEMORY_MB.get(s, MEMORY_MB["default"]) / 1024
        for s, n in lambda_by_state.items()
    )
    per_point = {
        "transitions": total_transitions / points,
        "lambda_invocations": invocations / points,
        "history_events": sum(events_per_execution) / points,
    }
    per_1000 = {
        "step_functions": 1000
        * per_point["transitions"]
        * prices["sfn_standard_per_1000_transitions"]
        / 1000,
        "lambda_requests": 1000
        * per_point["lambda_invocations"]
        * prices["lambda_per_million_requests"]
        / 1e6,
        "lambda_compute_assumed": 1000 * gb_seconds / points * prices["lambda_arm64_per_gb_second"],
        "sqs_sns": 1000 * prices["sqs_per_million_requests"] / 1e6,
    }
    per_1000["total"] = sum(per_1000.values())
    result = {
        "points": points,
        "outcomes": outcome.counts,
        "status": outcome.status,
        "executions": len(outcome.executions),
        "wall_seconds_sandbox": round(wall, 1),
        "transitions": total_transitions,
        "lambda_invocations": invocations,
        "lambda_invocations_by_state": dict(sorted(lambda_by_state.items())),
        "history_events_per_execution": events_per_execution,
        "event_types": dict(sum((event_counts(h) for h in histories), Counter())),
        "per_point": {k: round(v, 2) for k, v in per_point.items()},
        "usd_per_1000_points": {k: round(v, 4) for k, v in per_1000.items()},
        "max_points_per_execution_at_25000_events": int(25000 / per_point["history_events"]),
        "assumptions": {"lambda_seconds": ASSUMED_SECONDS, "lambda_memory_mb": MEMORY_MB, "prices": prices},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    json.dump(
        {k: result[k] for k in ("points", "executions", "per_point", "usd_per_1000_points")},
        sys.stdout,
        indent=2,
    )
    print()
    return 0 if outcome.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    raise SystemExit(main())

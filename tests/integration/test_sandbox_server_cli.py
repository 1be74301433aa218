"""``coldvault sandbox`` and ``coldvault demo`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest
from rich.console import Console

from coldvault.cli.app import main
from coldvault.demo import STEPS, DemoContext, run_demo
from coldvault.sandbox.server import SandboxServer

pytestmark = pytest.mark.integration


def test_sandbox_on_a_busy_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["sandbox", "--port", str(port), "--no-seed"])
    assert exited.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps at its width
    assert err.startswith(f"coldvault: error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "pass --port 0" in err
    assert "Traceback" not in err


def test_sandbox_command_prints_the_environment_and_stops_on_interrupt() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coldvault",
            "sandbox",
            "--port",
            "0",
            "--instances",
            "2",
            "--store-rate",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    endpoint = ""
    timer = threading.Timer(60, process.kill)  # a deadline, not a wait
    timer.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if "export AWS_ENDPOINT_URL=" in line:
                endpoint = line.split("=", 1)[1].strip()
            if "Ctrl-C" in line:
                break
        assert endpoint.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{endpoint}/_coldvault/settings") as answer:
            assert json.loads(answer.read())["store_bytes_per_second"] == 5e9
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        timer.cancel()
    text = "".join(lines) + out
    assert process.returncode == 0
    assert "export AWS_ACCESS_KEY_ID=testing" in text
    assert "seeded 2 instances" in text
    assert "sandbox stopped" in text


def test_demo_runs_its_steps_and_leaves_nothing_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    console = Console(record=True, width=160)
    seen: list[str] = []

    def extra_step(ctx: DemoContext) -> None:
        seen.append(ctx.endpoint_url)
        assert os.environ["AWS_ENDPOINT_URL"] == ctx.endpoint_url

    ctx = run_demo(console, instances=3, rows=5, steps=[*STEPS, ("extra", extra_step)])
    text = console.export_text()
    assert "Recovery points in coldvault-demo" in text
    assert "CREATING" in text
    assert "PARTIAL" in text
    assert "EXPIRED" in text
    assert seen == [ctx.endpoint_url]
    assert len(ctx.data["recovery_points"]) == ctx.data["seed"]["recovery_points"]
    assert "AWS_ENDPOINT_URL" not in os.environ
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(f"{ctx.endpoint_url}/_coldvault/settings", timeout=2)


def test_demo_command(capsys: pytest.CaptureFixture[str], sandbox: SandboxServer) -> None:
    main(["demo", "--instances", "2", "--rows", "3"])
    out = capsys.readouterr().out
    assert "demo finished" in out
    assert os.environ["MOTO_PORT"] == str(sandbox.port)

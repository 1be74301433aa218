"""The live progress display in a real terminal (a tmux pane), wide and narrow (40 columns).

tmux renders what coldvault writes to its pseudo-terminal; ``capture-pane`` reads the screen as a
person sees it. The store is held back (sandbox store rate) while the screen is read, then let go.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coldvault.sandbox.admin import SandboxAdmin
from tests.integration.test_archive_support import archivable_fleet, archive_args, assert_invariants

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("aws_env")]


class Pane:
    """A detached tmux session of ``width`` columns on a private server socket."""

    def __init__(self, socket: str, width: int) -> None:
        self.socket = socket
        self.width = width

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "cv")

    def wait_for(self, shown: Callable[[str], bool], seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while not shown(screen := self.screen()):
            assert time.monotonic() < deadline, f"never shown; screen:\n{screen}"
            time.sleep(0.2)  # polling the terminal's screen, not waiting for AWS
        return screen


@pytest.fixture
def pane(request: pytest.FixtureRequest) -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for the terminal tests (apt-get install tmux)")
    p = Pane(f"coldvault-{uuid.uuid4().hex[:8]}", int(request.param))
    yield p
    subprocess.run(["tmux", "-L", p.socket, "kill-server"], capture_output=True, check=False, timeout=30)


@pytest.mark.parametrize("pane", [120, 40], indirect=True, ids=["wide", "narrow"])
def test_live_progress_in_a_terminal(admin: SandboxAdmin, pane: Pane, tmp_path: Path) -> None:
    archivable_fleet(admin, instances=2, months=1)
    admin.update_settings(store_bytes_per_second=1.0)
    done = tmp_path / "exit-code"
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in os.environ.items()
        if k.startswith(("AWS_", "PYTHON", "PATH", "HOME"))
    )
    args = " ".join(shlex.quote(a) for a in archive_args())
    run = f"env -u COLUMNS -u LINES {env} TERM=xterm-256color {sys.executable} -m coldvault {args}"
    command = f"{run}; echo $? > {done}; sleep 600"  # the pane stays to be read
    pane.tmux("new-session", "-d", "-s", "cv", "-x", str(pane.width), "-y", "40", command)
    screen = pane.wait_for(lambda s: "0/2 points" in s and s.count("\nami-") == 2)
    lines = screen.splitlines()
    assert "ETA" in screen
    assert "/s" in screen
    assert "GiB" in screen
    amis = [line for line in lines if line.startswith("ami-")]
    assert len(amis) == 2, screen
    assert all(len(line.split()[0]) == len("ami-0123456789abcdef0") for line in amis), screen  # ids whole
    assert all("store" in line for line in amis), screen
    if pane.width == 40:
        assert any(line.startswith("0/2 points") for line in lines), screen
    admin.update_settings(store_bytes_per_second=5e13)
    deadline = time.monotonic() + 120
    while not done.exists() or not done.read_text().strip():
        assert time.monotonic() < deadline, pane.screen()
        time.sleep(0.2)
    assert done.read_text().strip() == "0", pane.screen()
    final = pane.screen()
    assert "2/2 points" in final
    assert_invariants()

"""The README's sandbox section, run as a reader would follow it.

The section lies between ``<!-- sandbox-section-start -->`` and ``<!-- sandbox-section-end -->`` in
README.md. Each fenced code block of type ``bash``, ``python`` or ``console`` in it must be preceded
(on the line right above its opening fence) by one of these HTML comments:

- ``<!-- example -->``: a runnable block. The ``bash`` and ``python`` examples run in order, in the
  section's sequence, against one freshly reset sandbox seeded as ``coldvault sandbox --seed`` seeds it,
  exactly as a reader pastes them into one shell: ``bash -euo pipefail -c <block>`` or
  ``python -c <block>``, from the checkout's root, with an environment made only of PATH (the virtualenv's
  ``bin`` first), a scratch HOME and the ``export`` lines of the ``output`` block below (its endpoint
  replaced by the test sandbox's). Each must exit 0. A line ``# → text`` in a block is output the
  reader will see: every one must match a line of the block's output (stdout and stderr together), in
  order; whitespace runs compare equal and ``…`` stands for any text. Every example shows at least one.
- ``<!-- not-run: why -->``: deliberately not run as written — the ``coldvault sandbox`` command, which
  serves until Ctrl-C. Its first line is the command that
  :func:`test_the_sandbox_command_prints_what_the_readme_shows_and_stops_on_sigint` runs, with
  ``--port <free port>`` added.
- ``<!-- output: <command> -->``: what that command prints. The command's real output must contain
  every line of the block, in order (``127.0.0.1:4566`` standing for the port it was given).

A block without one of these markers fails the test, so nothing in the section goes untested unnoticed.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coldvault.sandbox.admin import SandboxAdmin
from coldvault.sandbox.server import SandboxServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION_START = "<!-- sandbox-section-start -->"
SECTION_END = "<!-- sandbox-section-end -->"
README_ADDRESS = "127.0.0.1:4566"
MARKER = re.compile(r"^<!--\s*(example|not-run:.*|output:.*?)\s*-->$")
FENCE = re.compile(r"^```(\w*)\s*$")
EXPECTED = re.compile(r"^\s*# → (.*)$")
CHECKED_LANGUAGES = {"bash", "python", "console"}
RUNNABLE_LANGUAGES = {"bash", "python"}
BLOCK_TIMEOUT = 180  # seconds: a deadline for one example, not a wait


@dataclass
class Block:
    language: str
    marker: str  # "example", "not-run: …" or "output: …"
    code: str
    line: int  # README line of the opening fence
    expected: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> bool:
        return self.marker == "example"


def section_blocks(text: str) -> list[Block]:
    """The fenced blocks of the sandbox section, with their markers; raises on an unmarked block."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == SECTION_START)
    end = next(i for i, line in enumerate(lines) if line.strip() == SECTION_END)
    blocks: list[Block] = []
    i = start + 1
    while i < end:
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        close = next(j for j in range(i + 1, end) if lines[j].startswith("```"))
        language = fence.group(1)
        marker = MARKER.match(lines[i - 1].strip())
        if language in CHECKED_LANGUAGES:
            if marker is None:
                raise AssertionError(
                    f"README.md:{i + 1}: a ```{language} block of the sandbox section has no "
                    "<!-- example -->, <!-- not-run: … --> or <!-- output: … --> marker above it"
                )
            code = "\n".join(lines[i + 1 : close]) + "\n"
            expected = [m.group(1) for m in map(EXPECTED.match, code.splitlines()) if m]
            blocks.append(Block(language, marker.group(1), code, i + 1, expected))
        i = close + 1
    return blocks


def _normalised(text: str) -> str:
    return " ".join(text.split())


def expectation_pattern(expected: str) -> re.Pattern[str]:
    """``# → text``: whitespace runs compare equal, ``…`` is any text."""
    return re.compile(".*".join(re.escape(part) for part in _normalised(expected).split("…")))


def assert_shows(output: str, expected: list[str], where: str) -> None:
    """Every expected line matches an output line, in order."""
    out_lines = [_normalised(line) for line in output.splitlines()]
    position = 0
    for text in expected:
        pattern = expectation_pattern(text)
        found = next((n for n in range(position, len(out_lines)) if pattern.search(out_lines[n])), None)
        assert found is not None, f"{where}: expected a line like {text!r} (in order) in:\n{output}"
        position = found + 1


def readme_blocks() -> list[Block]:
    return section_blocks(README.read_text(encoding="utf-8"))


def the_block(marker_prefix: str) -> Block:
    found = [b for b in readme_blocks() if b.marker.startswith(marker_prefix)]
    assert len(found) == 1, f"expected one {marker_prefix!r} block in the sandbox section, found {len(found)}"
    return found[0]


def exports(block: Block, endpoint: str) -> dict[str, str]:
    """The ``export NAME=value`` lines of a block, the README's address replaced by ``endpoint``'s."""
    address = endpoint.removeprefix("http://")
    env: dict[str, str] = {}
    for line in block.code.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            env[name] = value.replace(README_ADDRESS, address)
    return env


def test_every_block_of_the_section_is_marked_and_checkable() -> None:
    blocks = readme_blocks()
    runnable = [b for b in blocks if b.runnable]
    assert {b.language for b in runnable} == RUNNABLE_LANGUAGES
    for block in runnable:
        assert block.expected, f"README.md:{block.line}: an example shows no `# → output` line"
    for block in blocks:
        assert block.runnable or not block.expected, f"README.md:{block.line}: `# →` in an unchecked block"
    command = the_block("not-run:")
    assert command.language == "bash"
    assert shlex.split(command.code.splitlines()[0], comments=True)[1:2] == ["sandbox"]
    env = exports(the_block("output:"), "http://127.0.0.1:4566")
    assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(
        env
    )


def test_the_section_parser_refuses_an_unmarked_block_and_matches_in_order() -> None:
    text = f"{SECTION_START}\n\n```bash\naws s3 ls\n```\n{SECTION_END}\n"
    with pytest.raises(AssertionError, match=re.escape("README.md:3: a ```bash block")):
        section_blocks(text)
    assert_shows("a\n2026-11-26   12:00  ami-123.bin\n", ["a", "…  12:00 ami-….bin"], "here")
    with pytest.raises(AssertionError, match="in order"):
        assert_shows("Completed 100\nInProgress 4\n", ["InProgress", "Completed"], "here")


@pytest.mark.slow
def test_the_examples_run_in_order_against_a_seeded_sandbox(
    sandbox: SandboxServer, admin: SandboxAdmin, tmp_path: Path
) -> None:
    admin.seed()  # the fleet `coldvault sandbox --seed` creates (same defaults)
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),  # no ~/.aws of the machine running the tests
        "LC_ALL": "C.UTF-8",
        **exports(the_block("output:"), sandbox.endpoint_url),
    }
    assert env["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    examples = [b for b in readme_blocks() if b.runnable]
    for block in examples:
        argv = (
            ["bash", "-euo", "pipefail", "-c", block.code]
            if block.language == "bash"
            else [str(Path(sys.executable).parent / "python"), "-c", block.code]
        )
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        where = f"README.md:{block.line} ({block.language} example)"
        assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stdout}"
        assert "Traceback" not in done.stdout, f"{where}:\n{done.stdout}"
        assert_shows(done.stdout, block.expected, where)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _default_sigint() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and children inherit
    # that; the reader's Ctrl-C reaches a foreground process, whose SIGINT is at its default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_sandbox_command_prints_what_the_readme_shows_and_stops_on_sigint() -> None:
    argv = shlex.split(the_block("not-run:").code.splitlines()[0], comments=True)
    assert Path(argv[0]).name == "coldvault"
    port = _free_port()
    argv = [str(Path(sys.executable).parent / "coldvault"), *argv[1:], "--port", str(port)]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=_default_sigint,  # noqa: PLW1509 - resets one signal disposition, no locks
    )
    assert process.stdout is not None
    printed: list[str] = []
    timer = threading.Timer(60, process.kill)  # a deadline for start-up, not a wait
    timer.start()
    try:
        for line in process.stdout:
            printed.append(line)
            if "Ctrl-C" in line:
                break
        endpoint = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{endpoint}/_coldvault/clock", timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)  # stops within a few seconds
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(printed) + rest
    assert process.returncode == 0, output
    shown = the_block("output:").code.replace(README_ADDRESS, f"127.0.0.1:{port}")
    assert_shows(output, [line for line in shown.splitlines() if line.strip()], "coldvault sandbox")
    assert output.rstrip().endswith("sandbox stopped")

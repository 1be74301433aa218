"""Open a page in real headless Chromium (Debian's package): its DOM after load and a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def render(page: Path, screenshot: Path, *, width: int = 1100, height: int = 1400) -> str:
    """The page's DOM as Chromium built it; ``screenshot`` is written as a PNG."""
    profile = screenshot.parent / "chromium-profile"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
    subprocess.run(
        [*common, f"--screenshot={screenshot}", page.resolve().as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    done = subprocess.run(
        [*common, "--dump-dom", page.resolve().as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")

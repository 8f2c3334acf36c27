"""Headless Chromium (Debian's ``chromium``) for the report tests: the DOM after load, a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # gitignored; CI can keep it as a build artifact


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run installs it)")


def _run(args: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="autoscope-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(url: str, budget_ms: int = 2000, size: str | None = None) -> str:
    """The DOM as Chromium built it (scripts run for ``budget_ms`` of virtual time), in a window
    of ``size`` ("1280,2000"; Chromium's default is 800×600)."""
    done = _run([f"--virtual-time-budget={budget_ms}", *([f"--window-size={size}"] if size else []), "--dump-dom", url])
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, name: str, size: str = "1280,2000") -> Path:
    """Save a PNG of ``url`` under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / name
    out.unlink(missing_ok=True)
    done = _run([f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars", url])
    assert out.exists() and out.stat().st_size > 10_000, done.stderr[-2000:]
    return out

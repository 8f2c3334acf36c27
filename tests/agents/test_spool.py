"""The agent spool: bounded, claimable once, taken over from dead processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autoscope.agents.spool import Spool


def test_spool_is_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    assert spool.write([b"x" * 39] * 5) == 2  # 40 bytes a line with its newline
    assert spool.write([b"y" * 39]) == 0
    assert spool.size_bytes() == 80


def test_claim_release_and_done(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    spool.write([b'{"a":1}', b'{"a":2}'])
    assert spool.has_pending()
    claim = spool.claim()
    assert claim is not None and claim.lines == [b'{"a":1}', b'{"a":2}']
    assert spool.claim() is None and not spool.has_pending()  # claimed once
    spool.release(claim, claim.lines[1:])
    again = spool.claim()
    assert again is not None and again.lines == [b'{"a":2}']
    spool.done(again)
    assert spool.claim() is None and spool.size_bytes() == 0


def test_claim_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    spool.write([b'{"a":1}'])
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (segment,) = tmp_path.glob("seg-*.jsonl")
    segment.rename(tmp_path / f"{segment.name}.claimed-{dead}")
    alive = tmp_path / f"seg-0-00000000-ffffffff.jsonl.claimed-{os.getppid()}"
    alive.write_bytes(b'{"b":1}\n')
    claim = spool.claim()
    assert claim is not None and claim.lines == [b'{"a":1}']
    assert spool.claim() is None  # a live process's claim is left alone

"""Turn-taking on one DuckDB file between processes: the ingester and the jobs (indicators,
report, export) that need the file while it runs.

DuckDB lets one process open a file (even read-only opens are refused while another process
has it), so processes take turns, coordinated by two lock files beside the warehouse:

* ``<db>.lock`` — held with an exclusive ``flock`` by whoever has the DuckDB file open;
* ``<db>.wants`` — a process that wants the file holds a *shared* ``flock`` on it from before
  it asks for ``.lock`` until its turn is over.

The holder (the ingester) checks, after each committed batch, whether anyone wants the file —
a non-blocking exclusive lock attempt on ``.wants`` fails when someone holds it shared; that
check costs one system call. If someone does, it closes its DuckDB connection, releases
``.lock``, waits until ``.wants`` is free (every waiter has had its turn; ``flock`` wakes a
blocked exclusive request once the last shared holder lets go), then takes ``.lock`` again and
reopens the file. The holder never reads or writes while a waiter has the file, and a batch is
either committed before the hand-over or polled again after it, so exactly-once ingestion is
untouched. ``flock`` locks die with their process, so a crashed waiter or holder never leaves
the file stuck.

Usage, by a job::

    with turn(db_path, timeout_s=120):
        conn = duckdb.connect(str(db_path))
        ...
        conn.close()

and by the holder: :class:`Holder` (``acquire`` before opening, ``someone_waiting`` after each
batch, ``hand_over`` between closing and reopening).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class TurnTimeout(TimeoutError):
    """The file was not handed over in time (the holder is stuck, or busy with a long batch)."""


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lock")


def wants_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.wants")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _lock(fd: int, mode: int, timeout_s: float | None, what: str) -> None:
    if timeout_s is None:
        fcntl.flock(fd, mode)
        return
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TurnTimeout(f"{what} not free after {timeout_s:g} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


@contextlib.contextmanager
def turn(db_path: str | Path, timeout_s: float | None = 120.0) -> Iterator[None]:
    """Hold the warehouse file for the duration of the block (open and close DuckDB inside it)."""
    wants = _open(wants_path(db_path))
    lock = -1
    try:
        fcntl.flock(wants, fcntl.LOCK_SH)  # raise the hand first …
        lock = _open(lock_path(db_path))
        _lock(lock, fcntl.LOCK_EX, timeout_s, f"{db_path} (held by another process)")  # … then wait
        yield
    finally:
        if lock >= 0:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)
        fcntl.flock(wants, fcntl.LOCK_UN)
        os.close(wants)


class Holder:
    """The long-running holder's side (the ingester)."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._lock = _open(lock_path(db_path))
        self._wants = _open(wants_path(db_path))
        self.hand_overs = 0

    def acquire(self, timeout_s: float | None = None) -> None:
        """Take the file (waits for a job that is using it)."""
        _lock(self._lock, fcntl.LOCK_EX, timeout_s, f"{self.db_path}")

    def someone_waiting(self) -> bool:
        """True when another process holds ``.wants`` (one non-blocking flock call)."""
        try:
            fcntl.flock(self._wants, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._wants, fcntl.LOCK_UN)
        return False

    def hand_over(self) -> None:
        """Call with DuckDB closed: let every waiter take its turn, then hold the file again."""
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        fcntl.flock(self._wants, fcntl.LOCK_EX)  # blocks until the last waiter is done
        fcntl.flock(self._wants, fcntl.LOCK_UN)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.hand_overs += 1

    def release(self) -> None:
        for fd in (self._lock, self._wants):
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            except OSError:
                pass

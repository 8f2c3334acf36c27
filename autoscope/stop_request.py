"""Ctrl-C and SIGTERM for long-running commands (``autoscope up | collect | ingest``): a clean
stop, bounded in time.

The first SIGINT/SIGTERM asks for a clean stop (collector, then ingester, then broker). Each
piece of that stop waits on something it does not control: a forwarder on Kafka, an ingester on
a broker fetch or on a process taking its turn with the warehouse, the embedded broker on its
clients. So a watchdog bounds the whole: if the process is still stopping ``timeout_s`` after
the first signal, or when a second signal comes, it says so on stderr, runs the ``on_overrun``
callbacks (the embedded broker is killed: it runs in its own session and would outlive us) and
ends the process at once with exit code 1. Nothing accepted is lost by that: a 2xx means the
events are fsync'd in the spool (sent to Kafka on the next start), and the warehouse is at its
last committed batch, whose offsets say where to resume.

The signal handler only counts signals: it takes no lock (an ``Event.set()`` in a handler can
deadlock against the main thread inside ``Event.wait()``, which holds the same lock for a few
bytecodes). A daemon thread watches the count.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

#: how long a clean stop may take before the process ends without waiting for the rest
STOP_TIMEOUT_S = 20.0


class StopRequest:
    """Parameters:
    timeout_s: how long a clean stop may take after the first signal.
    """

    def __init__(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._signals = 0  # written by the handler only
        self._requested = threading.Event()
        self._finished = False
        self._on_overrun: list[Callable[[], None]] = []
        self._watcher = threading.Thread(target=self._watch, name="autoscope-stop-watchdog", daemon=True)

    def install(self) -> StopRequest:
        """Handle SIGINT and SIGTERM from now on (call from the main thread)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._count)
        self._watcher.start()
        return self

    def on_overrun(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (it must not block) before the process ends without a clean stop."""
        self._on_overrun.append(callback)

    def wait(self) -> None:
        """Block until a stop is requested."""
        self._requested.wait()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def finished(self) -> None:
        """The clean stop is done: the watchdog stands down."""
        self._finished = True

    def _count(self, signum: int, frame: object) -> None:
        self._signals += 1

    def _watch(self) -> None:
        while self._signals == 0:
            time.sleep(0.05)
        self._requested.set()
        deadline = time.monotonic() + self.timeout_s
        while not self._finished:
            if self._signals > 1:
                self._end_now("a second signal came")
            if time.monotonic() >= deadline:
                self._end_now(f"the clean stop took longer than {self.timeout_s:g} s")
            time.sleep(0.05)

    def _end_now(self, why: str) -> None:
        # os.write, not print: the main thread may hold stdout's lock, mid-print
        os.write(
            2,
            (
                f"autoscope: {why}; ending now without waiting for the rest (accepted events are "
                "in the spool, the warehouse at its last committed batch)\n"
            ).encode(),
        )
        for callback in self._on_overrun:
            try:
                callback()
            except Exception:  # noqa: BLE001 - ending the process matters more
                pass
        os._exit(1)

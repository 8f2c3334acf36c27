"""`autoscope up` stops within a bounded time after SIGTERM, whatever Kafka does.

A stop waits on Kafka in several places (the forwarder's drain, the ingester's step and close,
the broker's own exit); with a broker that no longer answers, `up` took 36 s to go and, once,
ignored SIGTERM until killed (tests/report/test_status.py). The bound is
:data:`autoscope.stop_request.STOP_TIMEOUT_S`; the margin below covers the interpreter's start
on a loaded machine, not the stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscope.stop_request import STOP_TIMEOUT_S

pytestmark = [pytest.mark.integration]
BOUND_S = STOP_TIMEOUT_S + 10


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Running, stopped or sleeping: not gone and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Up:
    """`autoscope up` on free ports in ``data_dir``, its output in ``log``."""

    def __init__(self, data_dir: Path) -> None:
        self.log = data_dir.parent / "up.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "autoscope.cli",
                    "up",
                    "--data-dir",
                    str(data_dir),
                    "--port",
                    "0",
                    "--grpc-port",
                    "0",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_running(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while "Ctrl-C to stop" not in self.output():
            assert self.process.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def broker_pid(self) -> int:
        brokers = [pid for pid in children(self.process.pid) if "tansu" in Path(f"/proc/{pid}/comm").read_text()]
        assert len(brokers) == 1, brokers
        return brokers[0]

    def stop_within(self, bound_s: float) -> int:
        """SIGTERM, then the exit code; fails when `up` is still there after ``bound_s``."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=bound_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`autoscope up` still running {bound_s:g} s after SIGTERM:\n{self.output()}")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = Up(tmp_path / "data")
    brokers: list[int] = []
    try:
        yield running
    finally:
        if running.process.poll() is None:
            brokers = [pid for pid in children(running.process.pid)]
            running.process.kill()
            running.process.wait()
        for pid in brokers:  # a broker a failed test left stopped
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_up_stops_within_its_bound_while_the_broker_does_not_answer(up: Up) -> None:
    up.wait_running()
    broker = up.broker_pid()
    os.kill(broker, signal.SIGSTOP)  # still accepts connections, answers nothing: Kafka hung
    try:
        code = up.stop_within(BOUND_S)
    finally:
        if alive(broker):
            os.kill(broker, signal.SIGCONT)
    output = up.output()
    if code == 1:  # the watchdog ended it: it says so, and why nothing is lost
        assert "the clean stop took longer than" in output and "accepted events are in the spool" in output
    else:
        assert code == 0 and "stopped cleanly" in output, output
    deadline = time.monotonic() + 5
    while alive(broker) and time.monotonic() < deadline:  # reparented and reaped after up's exit
        time.sleep(0.05)
    assert not alive(broker), "the embedded broker outlived `autoscope up`"


def test_up_stops_when_sigterm_comes_during_startup(up: Up) -> None:
    deadline = time.monotonic() + 60
    while "tansu" not in " ".join(Path(f"/proc/{pid}/comm").read_text() for pid in children(up.process.pid)):
        assert up.process.poll() is None and time.monotonic() < deadline, up.output()
        time.sleep(0.02)
    code = up.stop_within(BOUND_S)  # the broker has started; the ingester and collector not yet
    assert code in (0, 1), up.output()
    assert "Traceback" not in up.output()


def test_a_second_sigterm_ends_up_at_once(up: Up) -> None:
    up.wait_running()
    broker = up.broker_pid()
    os.kill(broker, signal.SIGSTOP)  # so that the clean stop is still going on
    try:
        up.process.terminate()
        time.sleep(1)
        assert up.process.poll() is None, "still stopping cleanly"
        code = up.stop_within(10)
    finally:
        if alive(broker):
            os.kill(broker, signal.SIGCONT)
    assert code == 1 and "a second signal came" in up.output()

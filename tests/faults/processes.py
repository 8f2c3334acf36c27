"""Run Autoscope's own processes for fault tests: a collector and a lake ingester that can be SIGKILLed."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.lake import LakeLocation


def wait_healthy(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"collector on port {port} not healthy within {timeout_s} s")


def health(port: int) -> dict[str, object]:
    import json

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/healthz")
    return json.loads(connection.getresponse().read())


LAB_KEY = "5eed" * 8  # 16 bytes, hex


class ChildProcess:
    """A test's child process: SIGKILL it (a crash) or SIGTERM it (a clean stop)."""

    process: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


class CollectorProcess(ChildProcess):
    """``autoscope collect`` as a child process on ``port`` with its own data directory."""

    def __init__(
        self, kafka: KafkaSettings, data_dir: Path, port: int, log: Path, grpc_port: int | None = None
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "autoscope.cli",
            "collect",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--grpc-port",
            "off" if grpc_port is None else str(grpc_port),
        ]
        self.env = {
            **os.environ,
            "AUTOSCOPE_KAFKA_BOOTSTRAP": kafka.bootstrap_servers,
            "AUTOSCOPE_KAFKA_TOPIC": kafka.topic,
            "AUTOSCOPE_PSEUDONYM_KEY": LAB_KEY,
        }  # the lab's key, as every collector gets it
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CollectorProcess:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_healthy(self.port)
        return self

    def wait_drained(self, timeout_s: float = 60.0) -> None:
        """Wait until the spool is empty: everything accepted is acknowledged by Kafka."""
        deadline = time.monotonic() + timeout_s
        while health(self.port)["spool_bytes"] != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"spool not drained: {health(self.port)}")
            time.sleep(0.1)


class LakeIngesterProcess(ChildProcess):
    """``python -m autoscope.warehouse.ingester`` on a lake, ingester ``share`` of several, as a
    child process logging at DEBUG (one line per committed batch) straight into ``log``."""

    COMMITTED = re.compile(r"committed batch: (\d+) new, (\d+) duplicates")

    def __init__(self, kafka: KafkaSettings, lake: LakeLocation, share: str, log: Path, max_records: int = 10) -> None:
        self.args = [
            sys.executable,
            "-m",
            "autoscope.warehouse.ingester",
            "--bootstrap",
            kafka.bootstrap_servers,
            "--topic",
            kafka.topic,
            "--group",
            kafka.consumer_group,
            "--lake-catalog",
            lake.catalog,
            "--lake-data",
            lake.data_path,
            "--share",
            share,
            "--max-records",
            str(max_records),
            "--log-level",
            "DEBUG",
        ]
        self.share = share
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LakeIngesterProcess:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.args, stderr=out, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        return self

    def commits(self) -> int:
        """Batches committed so far, over every run of this process (its log)."""
        try:
            return len(self.COMMITTED.findall(self.log.read_text(errors="replace")))
        except FileNotFoundError:
            return 0

    def wait_for_commits(self, count: int, timeout_s: float = 90.0) -> None:
        """Wait until ``count`` more batches are committed (raises if the process ends first)."""
        target = self.commits() + count
        deadline = time.monotonic() + timeout_s
        while self.commits() < target:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"ingester {self.share} exited with {self.process.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ingester {self.share}: no commit in {timeout_s} s; see {self.log}")
            time.sleep(0.1)

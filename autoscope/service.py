"""The running service: embedded broker (unless Kafka is configured), collector and ingester.

``autoscope up`` runs it in the foreground and ``autoscope demo`` drives a simulated lab
through it. The pieces start in data-flow order (broker, topic, ingester, collector) and stop
in reverse, so nothing accepted by the collector is left without a consumer.

Data directory layout (``--data-dir``, default ``./autoscope-data``)::

    warehouse.duckdb      the warehouse (one writing process: the ingester)
    keys/pseudonym.key    the HMAC key, generated on first run unless configured
    logs/broker.log       the embedded broker's output
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from autoscope.broker import EmbeddedBroker
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.core.access import serves_unauthenticated
from autoscope.core.http_server import HttpServer, ListenError, check_port_free
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from autoscope.core.tokens import TokenStore
from autoscope.warehouse.lake import LakeLocation

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)
DEFAULT_DATA_DIR = Path("autoscope-data")
DEFAULT_PORT = 4318
DEFAULT_GRPC_PORT = 4317
#: how long :meth:`Service.stop` waits for the ingester's thread to finish its step and close
INGESTER_STOP_S = 8.0


@dataclasses.dataclass
class ServiceSettings:
    """Parameters:
    data_dir: where the warehouse, keys and logs live.
    host, port: where the collector listens (port 0 picks a free one).
    grpc_port: where it serves OTLP/gRPC on the same host (4317, OTLP's usual; 0 picks a free
        one; None serves no gRPC).
    grpc_workers: threads serving OTLP/gRPC calls (``grpc_workers`` of ``[otlp]`` in the
        settings file).
    otlp: how OTLP telemetry is mapped (identity attributes, task defaults, sources): the
        ``[otlp]`` section of the settings file (:mod:`autoscope.server_config`).
    kafka: an external cluster; None starts the embedded broker.

    allow_unauthenticated: listen beyond loopback without tokens (refused otherwise).
    tls_cert, tls_key: serve HTTPS with this certificate and key.
    collect, ingest: run the collector, the ingester (both by default; a lab runs several
        collectors and one ingester as separate processes).
    lake: the DuckLake warehouse to write into (``[warehouse] backend = "ducklake"``,
        :func:`autoscope.server_config.load_warehouse`); None: the DuckDB file in ``data_dir``.
    kafka_durable: whether Kafka keeps what it acknowledged across a restart. None: yes for an
        external cluster, no for the embedded broker. When not, and the ingester runs here, the
        collector keeps acknowledged spool segments until the ingester has read them.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    grpc_port: int | None = DEFAULT_GRPC_PORT
    grpc_workers: int = GrpcSettings.workers
    kafka: KafkaSettings | None = None
    otlp: OtlpSettings = dataclasses.field(default_factory=OtlpSettings)
    allow_unauthenticated: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    collect: bool = True
    ingest: bool = True
    kafka_durable: bool | None = None
    lake: LakeLocation | None = None

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def warehouse(self) -> Path | LakeLocation:
        """What the ingester writes into: the lake when one is configured, else the file."""
        return self.lake if self.lake is not None else self.warehouse_path


class ServiceError(ListenError):
    """The service refuses to start as configured (the message says why and what to do); a
    :class:`~autoscope.core.http_server.ListenError` (a taken port) is one."""


#: written into the data directory while a collector runs there: where ``autoscope status`` asks it
RUN_FILE = "collector.json"


class Service:
    """Broker + collector + ingester, as a context manager.

    Parameters:
        settings: see :class:`ServiceSettings`.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.broker: EmbeddedBroker | None = None
        self.kafka: KafkaSettings | None = settings.kafka
        self.collector: HttpServer | None = None
        self.ingester = None
        self._ingester_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._grpc = None

    @property
    def grpc_endpoint(self) -> str | None:
        """``host:port`` of the OTLP/gRPC receiver, None when it does not listen."""
        if self._grpc is None or self._grpc.error is not None:
            return None
        return f"{self.settings.host}:{self._grpc.port}"

    @property
    def endpoint(self) -> str:
        assert self.collector is not None
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{self.settings.host}:{self.collector.port}"

    def check_exposure(self) -> None:
        """Refuse to listen beyond loopback with no token, unless explicitly allowed."""
        store = TokenStore(self.settings.data_dir / "tokens.json")
        if serves_unauthenticated(store, self.settings.host, self.settings.allow_unauthenticated):
            raise ServiceError(
                f"refusing to listen on {self.settings.host} without authentication: create a "
                "token first (autoscope token create --name TOOL) or pass --allow-unauthenticated"
            )

    def start(self) -> Service:
        from autoscope.collector.app import CollectorSettings, create_app
        from autoscope.warehouse.ingester import Ingester
        from autoscope.warehouse.lag import IngesterLag

        data_dir = self.settings.data_dir
        if self.settings.collect:  # before anything is made: a refusal leaves nothing behind
            self.check_exposure()
            try:
                check_port_free(self.settings.host, self.settings.port, "--port")
                if self.settings.grpc_port != self.settings.port:
                    check_port_free(self.settings.host, self.settings.grpc_port, "--grpc-port")
            except ListenError as exc:
                raise ServiceError(str(exc)) from None
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.kafka is None:
                (data_dir / "logs").mkdir(exist_ok=True)
                self.broker = EmbeddedBroker(log_path=data_dir / "logs" / "broker.log").start()
                self.kafka = self.broker.settings()
            ensure_topic(self.kafka)
            if self.settings.ingest:
                self.ingester = Ingester(self.kafka, self.settings.warehouse)
                self._ingester_thread = threading.Thread(target=self._ingest, name="autoscope-ingester", daemon=True)
                self._ingester_thread.start()
            if self.settings.collect:
                grpc = GrpcSettings(self.settings.grpc_port, self.settings.host, self.settings.grpc_workers)
                tls = (self.settings.tls_cert, self.settings.tls_key) if self.settings.tls_cert else None
                # the warehouse ingester's lag, shown by the collector: measured by the warehouse side
                # the embedded broker keeps nothing across a restart: an acknowledgement is not
                # durable until the ingester (in this process) has read the records
                durable = self.settings.kafka_durable
                keep = self.settings.ingest and (self.broker is not None if durable is None else not durable)
                app = create_app(
                    CollectorSettings(
                        data_dir=data_dir,
                        kafka=self.kafka,
                        otlp=self.settings.otlp,
                        grpc=grpc,
                        tls=tls,
                        keep_until_consumed=keep,
                    ),
                    ingester_lag=IngesterLag(self.kafka),
                )
                self.collector = HttpServer(
                    app,
                    self.settings.host,
                    self.settings.port,
                    name="collector",
                    tls_cert=self.settings.tls_cert,
                    tls_key=self.settings.tls_key,
                )
                try:
                    self.collector.start()
                except ListenError as exc:  # lost a race for the port since the check
                    raise ServiceError(f"{exc} (--port {self.settings.port})") from None
                self._grpc = app.state.otlp_grpc
                if self._grpc is not None and self._grpc.error is not None:
                    raise ServiceError(f"{self._grpc.error}: choose another port with --grpc-port (or off)")
                self._write_run_file()
        except BaseException:
            self.stop()
            raise
        return self

    def _ingest(self) -> None:
        """Run the ingester until stopped; after a failure, start a fresh one (a restart
        resumes from the offsets stored with the data, so nothing is lost or doubled).

        This thread also closes the ingester: it is the only one that uses it, and a close from
        another thread while a step waits on Kafka would race it (see :meth:`stop`)."""
        try:
            self._run_ingester()
        finally:
            ingester, self.ingester = self.ingester, None
            if ingester is not None:
                ingester.close()

    def _run_ingester(self) -> None:
        from autoscope.warehouse.ingester import Ingester

        while not self._stop.is_set():
            try:
                assert self.ingester is not None
                self.ingester.run(self._stop)
            except Exception:  # noqa: BLE001 - logged; the loop restarts the ingester
                log.exception("the ingester failed; restarting it in 1 s")
                failed, self.ingester = self.ingester, None  # readers wait (cursor()) rather than use it
                failed.close()  # type: ignore[union-attr]
                # a closed ingester is never run again: retry until a new one starts (e.g. Kafka is back)
                while self.ingester is None:
                    if self._stop.wait(1.0):
                        return
                    try:
                        self.ingester = Ingester(self.kafka, self.settings.warehouse)  # type: ignore[arg-type]
                    except Exception:  # noqa: BLE001 - e.g. Kafka unreachable: try again
                        log.exception("could not restart the ingester; trying again in 1 s")

    def cursor(self, timeout_s: float = 30.0) -> duckdb.DuckDBPyConnection:
        """A cursor on the warehouse for a reader in this process (close it after use).

        It comes from the running ingester, the one process that has the file open; while the
        ingester is being restarted after a failure, this waits for the new one (up to
        ``timeout_s``). A cursor taken before a restart is closed by it: take one per read.
        """
        import duckdb

        deadline = time.monotonic() + timeout_s
        while True:
            ingester = self.ingester
            if ingester is not None:
                try:
                    return ingester.cursor()
                except duckdb.ConnectionException:  # closed under us by a restart: wait for the next
                    pass
            if time.monotonic() >= deadline or self._stop.is_set():
                raise ServiceError(
                    f"the warehouse is not open in this process (no running ingester after {timeout_s:g} s)"
                )
            time.sleep(0.1)

    def _write_run_file(self) -> None:
        """Say where this collector listens, for ``autoscope status`` on the same data directory."""
        path = self.settings.data_dir / RUN_FILE
        path.write_text(json.dumps({"url": self.endpoint, "pid": os.getpid()}), encoding="utf-8")

    def _remove_run_file(self) -> None:
        path = self.settings.data_dir / RUN_FILE
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass  # none, or another collector's: leave it

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
            self.collector = None
            self._remove_run_file()
        self._stop.set()
        if self._ingester_thread is not None:
            # the thread finishes its step and closes the ingester; a step waiting on a broker
            # that does not answer is not waited for beyond this (nothing is lost: a batch is
            # committed whole with its offsets, or not at all)
            self._ingester_thread.join(timeout=INGESTER_STOP_S)
            if self._ingester_thread.is_alive():
                log.warning("the ingester did not stop within %g s; not waiting for it", INGESTER_STOP_S)
            self._ingester_thread = None
        elif self.ingester is not None:  # made, but its thread never started
            self.ingester.close()
            self.ingester = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def kill_broker(self) -> None:
        """End the embedded broker at once, without waiting (for a process that must end now)."""
        if self.broker is not None:
            self.broker.kill()

    def __enter__(self) -> Service:
        return self if (self.collector or self.ingester) is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""Assemble the collector: receivers → admission → the chain (``chain.py``) → sinks → forwarder.

Topology, by module: ``receivers/`` (where a request enters, admission: who sent it and
whether there is room) → ``codecs/`` (bytes to requests: content encodings, native JSON, OTLP
protobuf and JSON) → ``mapping/`` (OTLP records to events) → ``stages/`` (map, limit, validate,
restrict, pseudonymize; the order is :mod:`autoscope.collector.chain`'s) → ``sinks/`` (the
fsync'd spool, the quarantine, and the forwarder that takes the spool to Kafka).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector.chain import build_chain
from autoscope.collector.garbage_collector import tune_for_serving
from autoscope.collector.intake import Intake, Limits
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pseudonymize import Pseudonymizer, load_or_create_key
from autoscope.collector.receivers.admission import Admission
from autoscope.collector.receivers.auth import Authenticator
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.collector.receivers.metrics_http import metrics_routes
from autoscope.collector.receivers.native_http import json_response, native_routes
from autoscope.collector.receivers.otlp import OtlpReceiver
from autoscope.collector.receivers.otlp_grpc import OtlpGrpcServer
from autoscope.collector.receivers.otlp_http import otlp_http_routes
from autoscope.collector.receivers.status_http import status_routes
from autoscope.collector.sinks.forwarder import Forwarder
from autoscope.collector.sinks.quarantine import Quarantine
from autoscope.collector.sinks.spool import Spool
from autoscope.collector.stats import CollectorStats, IngesterLagReading
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.core.tokens import TokenStore


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    """What a collector needs to run.

    Parameters:
        data_dir: holds ``spool/``, ``quarantine/``, ``tokens.json`` and the generated
            pseudonym key (``keys/``) unless one is configured.
        tls: certificate and key (PEM files) when the HTTP server serves HTTPS; the OTLP/gRPC
            receiver then serves TLS with the same pair.
        kafka: where accepted events are forwarded.
        limits: per-request limits.
        spool_max_bytes: at this size the collector answers 503 until Kafka catches up.
        require_auth: None decides per request from the token store (required as soon as a
            token has been created, also while the collector runs; revoked ones count).
    """

    data_dir: Path
    kafka: KafkaSettings
    limits: Limits = Limits()
    spool_max_bytes: int = 1024**3
    require_auth: bool | None = None
    otlp: OtlpSettings = OtlpSettings()  # how OTLP telemetry is mapped to events
    grpc: GrpcSettings = GrpcSettings()  # where OTLP/gRPC listens (port None: not at all)
    tls: tuple[Path, Path] | None = None  # (certificate, key), PEM: gRPC serves TLS with them too
    #: keep acknowledged segments until the ingester has consumed them (needs ``ingester_lag``):
    #: for a broker that keeps nothing across a restart (the embedded one); see sinks/forwarder.py
    keep_until_consumed: bool = False


def create_app(settings: CollectorSettings, ingester_lag: IngesterLagReading | None = None) -> Starlette:
    """The collector as an ASGI app; the forwarder runs for the app's lifespan.

    The spool is opened (and a previous run's segments replayed) when the app is created.
    ``ingester_lag`` is the warehouse ingester's Kafka lag to show on ``/metrics`` and
    ``/v1/status`` (the roof wires in :class:`autoscope.warehouse.lag.IngesterLag`; the app
    starts and stops it with its lifespan); None shows none.
    """
    pseudonymizer = Pseudonymizer(load_or_create_key(settings.data_dir))
    spool = Spool(settings.data_dir / "spool", max_bytes=settings.spool_max_bytes)
    keep = settings.keep_until_consumed and ingester_lag is not None
    forwarder = Forwarder(spool, settings.kafka, consumed=ingester_lag.consumed if keep else None)  # type: ignore[union-attr]
    stats = CollectorStats()
    admission = Admission(
        Authenticator(TokenStore(settings.data_dir / "tokens.json"), settings.require_auth),
        stats,
        settings.limits.max_in_flight,
    )
    mapper = Mapper(settings.otlp)
    chain = build_chain(settings.limits, pseudonymizer, mapper)
    intake = Intake(
        spool=spool,
        quarantine=Quarantine(settings.data_dir / "quarantine", pseudonymizer),
        stats=stats,
        limits=settings.limits,
        key_buckets=max(1, settings.kafka.partitions),
    )
    otlp = OtlpReceiver(intake, chain, mapper)
    grpc = settings.grpc
    grpc_server = (
        None
        if grpc.port is None
        else OtlpGrpcServer(admission, otlp, grpc.host, grpc.port, grpc.workers, tls=settings.tls)
    )
    lag = ingester_lag

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tune_for_serving()  # startup's objects frozen, fewer young collections (see its module)
        forwarder.start()
        if lag is not None:
            lag.start()
        if grpc_server is not None:
            grpc_server.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            if grpc_server is not None:
                grpc_server.stop()
            if lag is not None:
                lag.stop()
            forwarder.stop()
            spool.close()

    async def healthz(request: Request) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                **intake.stats.snapshot(),
                "spool_bytes": spool.total_bytes,
                "forwarded_records": forwarder.forwarded_records,
                "kafka_errors": forwarder.kafka_errors,
                "kafka_last_error": forwarder.last_error,  # why the forwarder last started over
                "otlp": otlp.stats.snapshot(),
            },
        )

    app = Starlette(
        routes=[
            *native_routes(admission, intake, chain),
            *metrics_routes(intake, forwarder, extra=otlp.stats.snapshot, dropped=otlp.stats.dropped_snapshot, lag=lag),
            *otlp_http_routes(admission, otlp),
            *status_routes(
                admission,
                intake,
                spool,
                forwarder,
                settings.data_dir / "quarantine",
                otlp.stats.snapshot,
                otlp.stats.dropped_snapshot,
                lag,
            ),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.intake = intake
    app.state.admission = admission
    app.state.chain = chain
    app.state.otlp = otlp
    app.state.otlp_grpc = grpc_server
    app.state.spool = spool
    app.state.forwarder = forwarder
    app.state.ingester_lag = lag
    app.state.stats = intake.stats
    app.state.key_id = pseudonymizer.key_id
    return app

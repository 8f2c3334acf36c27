"""Assemble the collector: the pipeline of stages, its receivers and its sink, as one ASGI app."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette

from autoscope.collector.pipeline import Processor
from autoscope.collector.pseudonymize import Pseudonymizer, load_or_create_key
from autoscope.collector.receivers.native_http import Limits, native_routes
from autoscope.collector.sinks.forwarder import Forwarder
from autoscope.collector.sinks.spool import Spool
from autoscope.collector.stats import CollectorStats
from autoscope.collector.transforms.decode import decode_json_array
from autoscope.collector.transforms.pseudonymize import pseudonymize_actors
from autoscope.collector.transforms.validate import validate_events
from autoscope.kafka_settings import KafkaSettings


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    """What a collector needs to run.

    Parameters:
        data_dir: holds the spool (``spool/``) and the generated pseudonym key (``keys/``)
            unless one is configured.
        kafka: where accepted events are forwarded.
        limits: per-request limits.
        spool_max_bytes: at this size the collector answers 503 until Kafka catches up.
    """

    data_dir: Path
    kafka: KafkaSettings
    limits: Limits = Limits()
    spool_max_bytes: int = 1024**3


def native_pipeline(pseudonymizer: Pseudonymizer, limits: Limits) -> list[Processor]:
    """decode → validate → pseudonymize, in that order (the sink comes after)."""
    return [decode_json_array(limits.max_events), validate_events, pseudonymize_actors(pseudonymizer)]


def create_app(settings: CollectorSettings) -> Starlette:
    """The collector as an ASGI app; the forwarder runs for the app's lifespan.

    The spool is opened (and a previous run's segments replayed) when the app starts.
    """
    pseudonymizer = Pseudonymizer(load_or_create_key(settings.data_dir))
    spool = Spool(settings.data_dir / "spool", max_bytes=settings.spool_max_bytes)
    forwarder = Forwarder(spool, settings.kafka)
    stats = CollectorStats()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        forwarder.start()
        try:
            yield
        finally:
            forwarder.stop()
            spool.close()

    processors = native_pipeline(pseudonymizer, settings.limits)
    app = Starlette(
        routes=native_routes(processors, spool, stats, settings.limits), lifespan=lifespan
    )
    app.state.spool = spool
    app.state.forwarder = forwarder
    app.state.stats = stats
    app.state.key_id = pseudonymizer.key_id
    return app

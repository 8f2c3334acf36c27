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
from autoscope.collector.sinks.kafka import KafkaSink
from autoscope.collector.stats import CollectorStats
from autoscope.collector.transforms.decode import decode_json_array
from autoscope.collector.transforms.pseudonymize import pseudonymize_actors
from autoscope.collector.transforms.validate import validate_events
from autoscope.kafka_settings import KafkaSettings


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    """What a collector needs to run.

    Parameters:
        data_dir: holds the generated pseudonym key (``keys/``) unless one is configured.
        kafka: where accepted events are produced.
        limits: per-request limits.
    """

    data_dir: Path
    kafka: KafkaSettings
    limits: Limits = Limits()


def native_pipeline(pseudonymizer: Pseudonymizer, limits: Limits) -> list[Processor]:
    """decode → validate → pseudonymize, in that order (the sink comes after)."""
    return [decode_json_array(limits.max_events), validate_events, pseudonymize_actors(pseudonymizer)]


def create_app(settings: CollectorSettings) -> Starlette:
    """The collector as an ASGI app; its Kafka producer is closed on shutdown."""
    pseudonymizer = Pseudonymizer(load_or_create_key(settings.data_dir))
    sink = KafkaSink(settings.kafka)
    stats = CollectorStats()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sink.close()

    processors = native_pipeline(pseudonymizer, settings.limits)
    app = Starlette(
        routes=native_routes(processors, sink, stats, settings.limits), lifespan=lifespan
    )
    app.state.stats = stats
    app.state.key_id = pseudonymizer.key_id
    return app

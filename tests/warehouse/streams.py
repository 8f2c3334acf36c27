"""Streams of valid events for the warehouse tests, and a producer that publishes them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

import msgspec
from kafka import KafkaProducer

from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.columns import event_type
from tests.event_samples import event

#: group timings for tests: a join on the embedded broker takes about half the session timeout
FAST_GROUP = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 1000}

TEMPLATES = {type_: contract.convert_event(event(type_)) for type_ in contract.EVENT_TYPES}


def make_events(count: int, stream: int = 0) -> list[contract.Event]:
    """``count`` distinct events cycling through all the contract's types; ids differ per ``stream``."""
    types = contract.EVENT_TYPES
    return [
        msgspec.structs.replace(
            TEMPLATES[types[i % len(types)]],
            event_id=str(uuid.UUID(int=(stream << 64) | i)),
            actor=f"p{i % 17}",
        )
        for i in range(count)
    ]


def type_counts(events: Sequence[contract.Event]) -> dict[str, int]:
    return dict(Counter(event_type(e) for e in events))


def produce(settings: KafkaSettings, events: Sequence[contract.Event], per_message: int) -> int:
    """Publish ``events`` as messages of ``per_message`` events each; returns messages sent."""
    producer = KafkaProducer(**settings.client_kwargs(), acks="all", linger_ms=5)
    try:
        sent = 0
        for start in range(0, len(events), per_message):
            producer.send(settings.topic, contract.encode_events(list(events[start : start + per_message])))
            sent += 1
        producer.flush()
        return sent
    finally:
        producer.close()

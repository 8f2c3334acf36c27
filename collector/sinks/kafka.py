"""Where accepted events land: the events topic, produced with ``acks="all"``.

Events travel several to a Kafka message (a JSON array, ``contract.encode_events``): one
message per request chunk costs the broker and the ingester far less than one per event,
and the warehouse's event_id uniqueness makes a re-sent message harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from autoscope.collector.contract import Event, encode_events
from autoscope.kafka_settings import KafkaSettings


class SinkUnavailable(RuntimeError):
    """Kafka did not acknowledge the events; the sender should retry later."""


class KafkaSink:
    """Produce events to Kafka and wait for the acknowledgement of every message.

    Parameters:
        settings: where Kafka is; the topic must exist (``ensure_topic``).
        events_per_message: how many events share one Kafka message.
        ack_timeout_s: how long a request waits for the acknowledgement before answering 503.
    """

    def __init__(
        self, settings: KafkaSettings, events_per_message: int = 500, ack_timeout_s: float = 10.0
    ) -> None:
        from kafka import KafkaProducer

        self.topic = settings.topic
        self.events_per_message = events_per_message
        self.ack_timeout_s = ack_timeout_s
        self._producer = KafkaProducer(
            **settings.client_kwargs(),
            acks="all",
            linger_ms=2,
            # when Kafka is away, fail the request in seconds instead of blocking a minute
            max_block_ms=5000,
            request_timeout_ms=int(ack_timeout_s * 1000),
            max_request_size=8 * 1024 * 1024,
            retries=3,
        )

    def _deliver_blocking(self, events: Sequence[Event]) -> None:
        from kafka.errors import KafkaError

        try:
            futures = [
                self._producer.send(
                    self.topic, encode_events(list(events[i : i + self.events_per_message]))
                )
                for i in range(0, len(events), self.events_per_message)
            ]
            for future in futures:
                future.get(timeout=self.ack_timeout_s)
        except KafkaError as exc:
            raise SinkUnavailable(f"Kafka did not acknowledge the events: {exc}") from exc

    async def deliver(self, events: Sequence[Event]) -> None:
        """Produce ``events`` and return once Kafka acknowledged all of them (acks=all)."""
        if events:
            await asyncio.to_thread(self._deliver_blocking, events)

    def close(self, timeout_s: float = 5.0) -> None:
        self._producer.close(timeout=timeout_s)

"""How far the warehouse ingester is behind Kafka: measured here, on the warehouse side, and
shown by the collector on ``/metrics`` and ``/v1/status`` (``autoscope up`` wires it in:
:func:`autoscope.collector.app.create_app`'s ``ingester_lag``).

Lag per partition = the log end offset − the ingester's consumer group's committed offset
(the ingester commits to Kafka after each batch, for this), clamped at 0: a topic recreated
empty leaves the group's offsets ahead of the log until the ingester notices. A partition
the group never committed lags by all it holds (end − beginning offset).

A background thread measures every ``interval_s`` with an admin client
(``list_group_offsets``) and a consumer without a group (``end_offsets``): Kafka round trips
never happen in a scrape, and a scrape never waits for a broker that is away. A failed
measurement is counted and keeps the last values; :attr:`IngesterLag.refreshed_at` tells how
old they are.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from autoscope.core.kafka_settings import KafkaSettings

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_MS = 5000  # a broker that is away fails a measurement in seconds, not minutes


class IngesterLag:
    """Parameters:
    settings: the Kafka cluster, the events topic and the ingester's consumer group.
    interval_s: seconds between measurements.
    """

    def __init__(self, settings: KafkaSettings, interval_s: float = 10.0) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.failures = 0
        self.last_error: str | None = None
        self.refreshed_at: float | None = None  # time.time() of the last good measurement
        self._lag: dict[tuple[str, int], int] = {}
        self._consumed: dict[int, int] = {}  # partition → the group's committed offset
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoscope-ingester-lag", daemon=True)
        self._admin: Any = None
        self._consumer: Any = None

    def start(self) -> IngesterLag:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop measuring; a measurement in progress finishes on its own (daemon thread)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def snapshot(self) -> dict[tuple[str, int], int]:
        """The last measured lag, ``(topic, partition) → records``."""
        with self._lock:
            return dict(self._lag)

    def refresh(self) -> dict[tuple[str, int], int]:
        """Measure now (on the calling thread); raises what Kafka raised."""
        from kafka import TopicPartition

        admin, consumer = self._clients()
        topic, group = self.settings.topic, self.settings.consumer_group
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        if not partitions:
            raise RuntimeError(f"topic {topic!r} has no partitions (does it exist?)")
        committed = admin.list_group_offsets({group: partitions}).get(group, {})
        ends = consumer.end_offsets(partitions)
        never = [tp for tp in partitions if tp not in committed or committed[tp].offset < 0]
        starts = consumer.beginning_offsets(never) if never else {}
        lag = {}
        for tp in partitions:
            consumed = starts[tp] if tp in starts else committed[tp].offset
            lag[(tp.topic, tp.partition)] = max(0, ends[tp] - consumed)
        with self._lock:
            self._lag = lag
            self._consumed = {tp.partition: committed[tp].offset for tp in partitions if tp not in never}
            self.refreshed_at = time.time()
        return lag

    def consumed(self) -> tuple[dict[int, int], float | None]:
        """The ingester's committed offset per partition of the topic (partitions it never
        committed are absent) and ``time.time()`` of that measurement (None: none yet). The
        collector's forwarder keeps a segment on disk until these pass its records, when the
        broker keeps nothing across a restart (:mod:`autoscope.collector.sinks.forwarder`)."""
        with self._lock:
            return dict(self._consumed), self.refreshed_at

    def _clients(self) -> tuple[Any, Any]:
        from kafka import KafkaAdminClient, KafkaConsumer

        if self._admin is None:
            self._admin = KafkaAdminClient(
                **self.settings.client_kwargs(),
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=REQUEST_TIMEOUT_MS,
            )
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **self.settings.client_kwargs(),
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=REQUEST_TIMEOUT_MS,
            )
        return self._admin, self._consumer

    def _close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001 - a broken client is being dropped anyway
                    pass
        self._admin = self._consumer = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - counted and shown, never raised
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.debug("measuring the ingester's lag failed", exc_info=True)
                self._close()  # fresh clients next time: the old ones may point at a dead broker
            self._stop.wait(self.interval_s)
        self._close()

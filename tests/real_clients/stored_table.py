"""Sent vs stored, per recording: each recording replayed alone into a fresh service (one
embedded broker, a topic per recording), then what the warehouse holds set beside what
``expected.py`` reads from the payload, and whether any of the recordings' sensitive texts
reached a file, a Kafka message or a warehouse text column.

    .venv/bin/python -m tests.real_clients.stored_table            # every recording
    .venv/bin/python -m tests.real_clients.stored_table openai-v2-chat-grpc
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from autoscope.broker import EmbeddedBroker
from autoscope.core.kafka_settings import ensure_topic
from autoscope.service import Service, ServiceSettings
from tests.real_clients import expected as ex
from tests.real_clients.collector_replay import healthz, replay, wait_until_ingested
from tests.real_clients.test_privacy import _kafka_messages, _variants, _warehouse_texts, sensitive_texts

HEAD = (
    "| recording | events stored (by type) | tokens sent in/out/cache r/cache w "
    "| tokens stored in/out/cache r/cache w "
    "| events without identity | unmapped names | sensitive texts found |\n|---|---|---|---|---|---|---|"
)


def row(broker: EmbeddedBroker, recording: str, needles: set[str], n: int) -> str:
    sums = ex.expected(recording)
    kafka = broker.settings(topic=f"autoscope.table.{n}", consumer_group=f"autoscope-table-{n}")
    ensure_topic(kafka)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with Service(ServiceSettings(data_dir=data_dir, port=0, grpc_port=0, kafka=kafka)) as service:
            replay(service, recording)
            wait_until_ingested(service)
            cursor = service.cursor()
            try:
                by_type = dict(
                    cursor.execute("SELECT type, count(*) FROM event_ids GROUP BY type ORDER BY type").fetchall()
                )
                tokens = cursor.execute(
                    "SELECT sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
                    "sum(cache_write_tokens) FROM spend"
                ).fetchone()
                texts = _warehouse_texts(cursor)
            finally:
                cursor.close()
            otlp = healthz(service)["otlp"]
        blobs = [p.read_bytes() for p in data_dir.rglob("*") if p.is_file()] + _kafka_messages(kafka)
        found = {needle for needle in needles for blob in blobs if any(v in blob for v in _variants(needle))}
        found |= {needle for needle in needles for text in texts if needle in text}
    t = sums.tokens
    sent = f"{t['input']}/{t['output']}/{t['cache_read']}/{t['cache_write']}"
    stored = "/".join("0" if v is None else str(int(v)) for v in tokens)
    types = ", ".join(f"{k} {v}" for k, v in by_type.items()) or "none"
    unidentified = sum(otlp.get("otlp_events_without_identity", {}).values())
    return (
        f"| `{recording}` | {types} | {sent} | {stored} | {unidentified} | {len(otlp['otlp_unmapped'])} "
        f"| {len(found)} |"
    )


def main(names: list[str]) -> None:
    needles = sensitive_texts()
    print(HEAD)
    with EmbeddedBroker() as broker:
        for n, recording in enumerate(names or ex.recordings()):
            print(row(broker, recording, needles, n), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

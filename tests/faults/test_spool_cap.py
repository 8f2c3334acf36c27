"""Kafka away until the spool is full: 503 with a short Retry-After, then recovery."""

from __future__ import annotations

import json
import resource
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autoscope.broker import EmbeddedBroker, free_port
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.sinks.spool import read_records
from autoscope.core.kafka_settings import KafkaSettings
from tests.event_samples import event

pytestmark = pytest.mark.integration


def batch(n: int = 100) -> bytes:
    return json.dumps([event("task", event_id=str(uuid.uuid4())) for _ in range(n)]).encode()


def test_full_spool_answers_503_then_recovers(tmp_path: Path) -> None:
    port = free_port()
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", topic="cap")  # nothing listens yet
    app = create_app(CollectorSettings(tmp_path, kafka, spool_max_bytes=400_000))
    headers = {"content-type": "application/json"}
    with TestClient(app) as client:
        statuses = []
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(100):  # ~50 KB a batch: far more than the 400 KB cap
            response = client.post("/v1/events", content=batch(), headers=headers)
            statuses.append(response.status_code)
        assert statuses[0] == 200 and statuses[-1] == 503
        accepted_batches = statuses.count(200)
        assert set(statuses) == {200, 503} and statuses.index(503) == accepted_batches, "accepts until full"
        assert response.headers["retry-after"] == "2"
        assert "cap of 400000 bytes" in response.json()["error"]["reason"]
        refused = client.get("/healthz").json()["requests_refused_by_tool"]["spool_full"]
        assert refused == {"notebook": statuses.count(503)}  # no token: the events' source.tool
        assert client.app.state.spool.total_bytes <= 400_000
        grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert grown_kb < 100_000, "refused batches are not held in memory"

        spool = client.app.state.spool
        # each accepted batch is a spool record per key bucket its events fall in (core/event_keys.py)
        records = sum(1 for sequence in spool.segments() for _ in read_records(spool.path_of(sequence)))
        assert records >= accepted_batches
        with EmbeddedBroker(port=port):
            deadline = time.monotonic() + 30
            while client.app.state.spool.total_bytes > 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.app.state.spool.total_bytes == 0, "the spool drained once Kafka was back"
            assert client.app.state.forwarder.forwarded_records == records
            assert client.post("/v1/events", content=batch(), headers=headers).status_code == 200

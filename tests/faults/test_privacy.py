"""After a run whose inputs are full of identities, none of them is anywhere we write:
not in any file under the data directory, not in the Kafka topic."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from rich.console import Console
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.demo import run_demo
from autoscope.kafka_settings import KafkaSettings
from tests.event_samples import event

pytestmark = pytest.mark.integration


def identities(emails: set[str]) -> set[bytes]:
    """Each email, its local part ("ada.lovelace") and each name in it of 5+ letters."""
    found: set[bytes] = set()
    for email in emails:
        local = email.split("@")[0]
        found |= {email.encode(), local.encode()}
        found |= {part.encode() for part in local.replace("-", ".").split(".") if len(part) >= 5 and part.isalpha()}
    return found


def test_no_identity_reaches_disk_or_kafka(kafka: KafkaSettings, tmp_path: Path) -> None:
    result = run_demo(tmp_path, kafka=kafka, console=Console(file=io.StringIO()))
    emails = {e.fields["actor"] for e in result.plan.events}
    # and a rejected event carrying an identity and free text, which goes to the quarantine
    bad = event("task", event_id=str(uuid.uuid4()), actor="grace.hopper@lab.example", team="Grace Hopper's team",
                outcome="unknown")
    emails.add("grace.hopper@lab.example")
    with TestClient(create_app(CollectorSettings(tmp_path, kafka))) as client:
        response = client.post("/v1/events", content=json.dumps([bad]), headers={"content-type": "application/json"})
        assert response.status_code == 400
    assert any((tmp_path / "quarantine").iterdir()), "the rejected event was kept"

    needles = identities(emails)
    assert len(needles) > 50
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files)
    for path in files:
        content = path.read_bytes().lower()
        leaked = sorted(n.decode() for n in needles if n in content)
        assert not leaked, f"{path.relative_to(tmp_path)} holds {leaked[:5]}"

    consumer = KafkaConsumer(kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_kwargs())
    messages = [m.value.lower() for m in consumer]
    consumer.close()
    assert messages
    for value in messages:
        assert not [n for n in needles if n in value]

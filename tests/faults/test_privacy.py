"""After a run whose inputs are full of identities, none of them is anywhere we write:
not in any file under the data directory, not in the Kafka topic, not in an export."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import duckdb
import pytest
from kafka import KafkaConsumer
from rich.console import Console
from starlette.testclient import TestClient

from autoscope.cli import main
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.core import contract
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.demo import run_demo
from tests.event_samples import event

pytestmark = pytest.mark.integration


def _enum_values(value: object) -> tuple[str, ...]:
    """The strings of a contract constant that is a tuple of labels (an enum), else none."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, tuple) else ()


#: labels every warehouse holds (enum values, the lab-wide cut value "all"); DuckDB stores a
#: column's distinct strings back to back, so two of them can spell a name across their border
#: ("all" + "engineering" holds "allen")
VOCABULARY = {"all", *(v for name in dir(contract) if name.isupper() for v in _enum_values(getattr(contract, name)))}


def identities(emails: set[str]) -> set[bytes]:
    """Each email, its local part ("ada.lovelace") and each name in it of 5+ letters — unless
    that name is spelled by two labels side by side (then the email and local part still count)."""
    borders = {a + b for a in VOCABULARY for b in VOCABULARY}
    found: set[bytes] = set()
    for email in emails:
        local = email.split("@")[0]
        found |= {email.encode(), local.encode()}
        found |= {
            part.encode()
            for part in local.replace("-", ".").split(".")
            if len(part) >= 5 and part.isalpha() and not any(part in joined for joined in borders)
        }
    return found


def demo_quarter(data_dir: Path) -> str:
    """The quarter (``2026-Q3``) of the demo's median task: one its data covers."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        (when,) = conn.execute("SELECT median(occurred_at) FROM tasks").fetchone()
    return f"{when.year}-Q{(when.month - 1) // 3 + 1}"


def test_no_identity_reaches_disk_kafka_or_export(kafka: KafkaSettings, tmp_path: Path) -> None:
    result = run_demo(tmp_path, kafka=kafka, console=Console(file=io.StringIO()))
    emails = {e.fields["actor"] for e in result.plan.events}
    # and rejected events carrying identities — as the actor, in an enum field (whose bad value
    # the answer quotes), as an unknown field's name — and free text: they are quarantined
    rejected = [
        event("task", event_id=str(uuid.uuid4()), actor="grace.hopper@lab.example", team="Grace Hopper's team"),
        event("task", event_id=str(uuid.uuid4()), outcome="katherine.johnson@lab.example"),
        # (model-x: the sample's claude-x would match a researcher named Claude)
        event("spend", event_id=str(uuid.uuid4()), model="model-x", **{"dorothy.vaughan@lab.example": 1}),
    ]
    emails |= {"grace.hopper@lab.example", "katherine.johnson@lab.example", "dorothy.vaughan@lab.example"}
    with TestClient(create_app(CollectorSettings(tmp_path, kafka))) as client:
        response = client.post("/v1/events", content=json.dumps(rejected), headers={"content-type": "application/json"})
        assert response.status_code == 400
        errors = [r["error"] for r in response.json()["results"]]
        # the sender is told what it sent; only what is written down must not hold it
        assert errors[1]["field"] == "$.outcome" and "katherine.johnson@lab.example" in errors[1]["reason"]
        assert errors[2] == {"field": "$.dorothy.vaughan@lab.example", "reason": "unknown field"}
    kept = [json.loads(line) for p in (tmp_path / "quarantine").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(kept) == 3, "every rejected event was kept"
    assert "withheld" in kept[1]["reason"] and kept[1]["field"] == "$.outcome"

    period = demo_quarter(tmp_path)
    out = tmp_path / "export"
    assert main(["indicators", "--data-dir", str(tmp_path), "--period", "quarter"]) == 0
    assert main(["export", "--data-dir", str(tmp_path), "--period", period, "--format", "csv", "--out", str(out)]) == 0
    exported = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in exported) and any(p.name == "manifest.json" for p in exported)

    needles = identities(emails)
    assert len(needles) > 50
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files)
    assert set(exported) <= set(files)
    for path in files:
        # the simulated coding agent Claude Code is a tool's name, not the researcher named Claude;
        # DuckDB's column statistics keep its first 8 bytes ("claude-c") as a string's min/max
        content = path.read_bytes().lower().replace(b"claude-code", b"").replace(b"claude-c", b"")
        leaked = sorted(n.decode() for n in needles if n in content)
        assert not leaked, f"{path.relative_to(tmp_path)} holds {leaked[:5]}"

    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_kwargs()
    )
    messages = [m.value.lower().replace(b"claude-code", b"") for m in consumer]  # a tool, not Claude
    consumer.close()
    assert messages
    for value in messages:
        assert not [n for n in needles if n in value]

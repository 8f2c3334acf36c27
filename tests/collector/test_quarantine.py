"""The quarantine keeps every rejected event, and nothing of an identity: not in the payload,
not in the field or reason it stores (which may quote what the sender sent)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from autoscope.collector.contract import ContractError, convert_event
from autoscope.collector.pipeline import Batch, Item
from autoscope.collector.sinks.quarantine import Quarantine, read_quarantine
from autoscope.collector.stages.validate import validate_events
from tests.event_samples import event

EMAIL = "ada.lovelace@lab.example"


def kept(tmp_path: Path, *events: dict) -> list[dict]:
    batch = Batch(body=b"", items=[Item(i, json.dumps(e).encode()) for i, e in enumerate(events)])
    batch = validate_events(batch)
    Quarantine(tmp_path, lambda identity: "k1:pseudonym").keep(batch)
    text = "".join(p.read_text() for p in tmp_path.glob("*.jsonl"))
    assert EMAIL not in text.lower() and "lovelace" not in text.lower()
    return list(read_quarantine(tmp_path))


def test_an_email_in_an_enum_field_is_told_back_but_not_kept(tmp_path: Path) -> None:
    bad = event("task", event_id=str(uuid.uuid4()), outcome=EMAIL)
    with pytest.raises(ContractError) as told:
        convert_event(bad)
    assert told.value.field == "$.outcome" and EMAIL in told.value.reason  # the sender's answer
    [entry] = kept(tmp_path, bad)
    assert entry["field"] == "$.outcome"
    assert entry["reason"].startswith("Invalid enum value <withheld: 24 characters, not a label>")
    assert "allowed: success, failure, abandoned" in entry["reason"]
    assert entry["payload"]["event"]["outcome"].startswith("[redacted")


def test_a_plain_label_is_still_quoted(tmp_path: Path) -> None:
    [entry] = kept(tmp_path, event("review", event_id=str(uuid.uuid4()), action="shrugged"))
    assert entry["reason"].startswith("Invalid enum value 'shrugged'")


def test_an_email_as_event_type_or_field_name_is_not_kept(tmp_path: Path) -> None:
    wrong_type = event("task", event_id=str(uuid.uuid4()), type=EMAIL)
    unknown_key = event("task", event_id=str(uuid.uuid4()), **{EMAIL: 1})
    nested_key = event("task", event_id=str(uuid.uuid4()), source={"tool": "t", "version": "1", EMAIL: 1})
    entries = kept(tmp_path, wrong_type, unknown_key, nested_key)
    assert [e["field"] for e in entries] == ["$.type", "$.<withheld name>", "$.source.<withheld name>"]
    assert "expected one of: task" in entries[0]["reason"]
    assert any(key.startswith("[redacted key") for key in entries[1]["payload"]["event"])

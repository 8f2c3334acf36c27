"""The v1 contract: every type decodes; each kind of bad event names its field and reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscope.collector import contract
from autoscope.collector.contract import ContractError, convert_event, decode_event
from tests.event_samples import event
from tests.sizes import examples


@pytest.mark.parametrize("type_", contract.EVENT_TYPES)
def test_every_type_decodes(type_: str) -> None:
    decoded = convert_event(event(type_))
    assert decoded.__struct_config__.tag == type_
    assert decoded.occurred_at.utcoffset().total_seconds() == 0  # normalized to UTC
    assert decoded.occurred_at.hour == 9


def test_task_family_defaults_to_category() -> None:
    assert convert_event(event("task")).family == "analysis"
    assert convert_event(event("task", family="sweep")).family == "sweep"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({k: v for k, v in event("task").items() if k != "actor"}, "$.actor", "required field is missing"),
        (event("task", human_minutes="thirty"), "$.human_minutes", "Expected `float`, got `str`"),
        (event("task", executor="robot"), "$.executor", "allowed: ai, human, mixed"),
        (event("task", type="meeting"), "$.type", "unknown event type"),
        (event("task", mood="good"), "$.mood", "unknown field"),
        (event("task", occurred_at="2026-11-02T10:00:00"), "$.occurred_at", "timezone"),
        (event("task", team="the vision team"), "$.team", "matching regex"),
        (event("task", human_minutes=0), "$.human_minutes", "Expected `float` > 0"),
        (event("contribution", ai_share=1.5), "$.ai_share", "<= 1"),
        (event("impression", score=6), "$.score", "<= 5"),
        (event("task", source={"tool": "x"}), "$.source.version", "required field is missing"),
        (event("task", schema_version=2), "$.schema_version", "allowed: 1"),
        (event("task", event_id="not-an-id"), "$.event_id", "matching regex"),
    ],
)
def test_bad_event_names_field_and_reason(body: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        convert_event(body)
    assert caught.value.field == field
    assert reason in caught.value.reason


@pytest.mark.parametrize("raw", [b"{", b"[1]", b"null", b"\xff\xfe", b'{"type": 3}'])
def test_malformed_json_is_a_contract_error(raw: bytes) -> None:
    with pytest.raises(ContractError) as caught:
        decode_event(raw)
    assert caught.value.field.startswith("$")
    assert caught.value.reason


def test_encode_then_decode_round_trips() -> None:
    events = [convert_event(event(t)) for t in contract.EVENT_TYPES]
    assert contract.decode_events(contract.encode_events(events)) == events


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_either_decode_or_raise_contract_error(raw: bytes) -> None:
    try:
        decode_event(raw)
    except ContractError as exc:
        assert exc.field.startswith("$") and exc.reason

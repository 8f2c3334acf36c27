"""Issue 12's coding-agent mappings, one rule at a time, on the Mapper itself (the replay of
real recordings through the whole chain is tests/real_clients/test_replay.py)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from autoscope.collector.mapping.agent_turns import model_name
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.prices import ModelPrice, price_usd
from autoscope.collector.mapping.settings import OtlpSettings

T0 = 1_790_000_000_000_000_000


def request(service: str, *records: dict[str, Any]) -> ExportLogsServiceRequest:
    out = ExportLogsServiceRequest()
    logs = out.resource_logs.add()
    logs.resource.attributes.extend(
        [
            KeyValue(key="service.name", value=AnyValue(string_value=service)),
            KeyValue(key="user.id", value=AnyValue(string_value="installation-1")),
        ]
    )
    scope = logs.scope_logs.add()
    for n, attrs in enumerate(records):
        record = scope.log_records.add()
        record.time_unix_nano = T0 + n * 1_000_000_000
        record.attributes.extend([KeyValue(key=k, value=AnyValue(string_value=str(v))) for k, v in attrs.items()])
    return out


def mapped(mapper: Mapper, req: ExportLogsServiceRequest) -> list[dict[str, Any]]:
    return [event.raw for event in mapper.map_logs(req).events]


def test_a_models_context_window_suffix_is_dropped() -> None:
    assert model_name("claude-opus-4-8[1m]") == "claude-opus-4-8"
    assert model_name("claude-opus-4-8") == "claude-opus-4-8"


def test_gemini_yolo_said_in_one_export_holds_for_decisions_in_the_next() -> None:
    mapper = Mapper(OtlpSettings())
    who = {"session.id": "g1", "installation.id": "i1"}
    mapped(mapper, request("gemini-cli", {**who, "event.name": "gemini_cli.config", "approval_mode": "yolo"}))
    events = mapped(
        mapper,
        request(
            "gemini-cli",
            {
                **who,
                "event.name": "gemini_cli.tool_call",
                "prompt_id": "g1####",
                "function_name": "write_file",
                "decision": "accept",
                "metadata": '{"model_added_lines": 3, "user_added_lines": 1, "model_removed_lines": 2}',
            },
        ),
    )
    review = next(e for e in events if e["type"] == "review")
    fact = next(e for e in events if e["type"] == "agent_turn_fact")
    assert (review["action"], review["oversight"]) == ("approved", "never_asked")
    assert review["task_id"] == fact["turn_id"], "the decision reviews its turn's task"
    assert (fact["kind"], fact["lines_added"], fact["lines_removed"]) == ("tool_call", 4, 2)


def test_gemini_auto_accept_is_a_rule_and_a_person_default() -> None:
    mapper = Mapper(OtlpSettings())
    who = {"session.id": "g2", "prompt_id": "g2####"}
    events = mapped(
        mapper,
        request(
            "gemini-cli",
            {**who, "event.name": "gemini_cli.tool_call", "function_name": "replace", "decision": "auto_accept"},
            {**who, "event.name": "gemini_cli.tool_call", "function_name": "run_shell_command", "decision": "reject"},
            {**who, "event.name": "gemini_cli.tool_call", "function_name": "read_file", "decision": ""},
        ),
    )
    assert [(e["action"], e["oversight"]) for e in events if e["type"] == "review"] == [
        ("approved", "rule"),
        ("rejected", "person"),
    ]


def test_codex_spend_is_priced_and_a_decision_under_never_is_never_asked() -> None:
    prices = {"gpt-x": ModelPrice(input=1.0, output=10.0, cache_read=0.1)}
    mapper = Mapper(OtlpSettings(prices=prices))
    conv = {"conversation.id": "c1", "model": "gpt-x"}
    events = mapped(
        mapper,
        request(
            "codex_cli_rs",
            {**conv, "event.name": "codex.conversation_starts", "approval_policy": "never"},
            {**conv, "event.name": "codex.user_prompt", "prompt": "[REDACTED]"},
            {**conv, "event.name": "codex.sse_event", "event.kind": "response.completed"},  # the bare twin
            {
                **conv,
                "event.name": "codex.sse_event",
                "event.kind": "response.completed",
                "input_token_count": 700,
                "cached_token_count": 500,
                "output_token_count": 25,
            },
            {**conv, "event.name": "codex.tool_decision", "decision": "approved", "source": "Config"},
        ),
    )
    [spend] = [e for e in events if e["type"] == "spend"]
    assert spend["priced"] is True and spend["amount_usd"] == price_usd(
        prices["gpt-x"], input_tokens=700, output_tokens=25, cache_read=500
    )
    assert spend["amount_usd"] == (200 * 1.0 + 500 * 0.1 + 25 * 10.0) / 1e6
    [review] = [e for e in events if e["type"] == "review"]
    [prompt] = [e for e in events if e.get("kind") == "prompt"]
    assert (review["oversight"], review["task_id"]) == ("never_asked", prompt["turn_id"])


def test_codex_after_a_collector_restart_leaves_the_turn_to_the_warehouse() -> None:
    conv = {"conversation.id": "c2"}
    events = mapped(
        Mapper(OtlpSettings()),
        request(  # a fresh collector: it never saw the prompt
            "codex_cli_rs", {**conv, "event.name": "codex.api_request", "duration_ms": 40}
        ),
    )
    [fact] = events
    assert fact["kind"] == "model_call" and "turn_id" not in fact and fact["duration_s"] == 0.04


def test_a_model_without_a_price_keeps_its_tokens_unpriced() -> None:
    events = mapped(
        Mapper(OtlpSettings(prices={})),
        request(
            "gemini-cli",
            {
                "event.name": "gemini_cli.api_response",
                "session.id": "g3",
                "prompt_id": "p",
                "model": "gemini-9",
                "input_token_count": 900,
                "output_token_count": 30,
                "cached_content_token_count": 600,
            },
        ),
    )
    [spend] = [e for e in events if e["type"] == "spend"]
    assert (spend["amount_usd"], spend.get("priced"), spend["input_tokens"], spend["output_tokens"]) == (
        0.0,
        None,
        900,
        30,
    )


def test_a_codex_record_older_than_the_last_prompt_seen_is_left_to_the_warehouse() -> None:
    mapper = Mapper(OtlpSettings())
    conv = {"conversation.id": "c3"}
    prompts = request(
        "codex_cli_rs", {**conv, "event.name": "codex.user_prompt"}, {**conv, "event.name": "codex.user_prompt"}
    )  # at T0 and T0 + 1 s
    first, second = (e["turn_id"] for e in mapped(mapper, prompts))
    late = request("codex_cli_rs", {**conv, "event.name": "codex.api_request", "duration_ms": 5})  # at T0
    [fact] = mapped(mapper, late)
    assert "turn_id" not in fact, "not the second turn's: the warehouse gives it to the first by time"
    assert first != second

"""Issue 12 (items 4, 5, 6) at the mapping: the current GenAI conventions and the older names side
by side with cache tokens of their own; each client's identity fallback, the lab's identity
map and the unidentified actor; unmapped telemetry counted by a bounded, sanitized name."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from autoscope.collector.mapping import genai_semconv
from autoscope.collector.mapping.identity import IdentitySettings, ResourceIdentity, envelope
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.records import MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.mapping.unmapped import label
from autoscope.collector.receivers.otlp import MAX_UNMAPPED_NAMES, OtlpStats

T = 1_796_192_173_415_000_000
WHO = {"service.name": "lab-agent", "team": "evals", "user.email": "ada@lab.example"}


def _span(attributes: dict, name: str = "chat gpt-4.1") -> Record:
    return Record(
        0,
        "span 0",
        attributes,
        WHO,
        "s",
        T,
        name,
        extra={"trace_id": "ab" * 16, "span_id": "cd" * 8, "start_ns": T - 10**9, "error": False},
    )


@pytest.mark.parametrize(
    "names",
    [
        # the current conventions
        (
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
        ),
        # older and other instrumentations' names (semconv ≤ 1.26, OpenLLMetry)
        (
            "gen_ai.usage.prompt_tokens",
            "gen_ai.usage.completion_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ),
        # OpenInference
        (
            "llm.token_count.prompt",
            "llm.token_count.completion",
            "llm.token_count.prompt_details.cache_read",
            "llm.token_count.prompt_details.cache_write",
        ),
    ],
    ids=["current", "older", "openinference"],
)
def test_a_model_call_span_gives_every_token_kind_by_any_of_its_names(names: tuple[str, ...]) -> None:
    result = MapResult()
    attributes = dict(zip(names, (120, 30, 800, 40)), **{"gen_ai.operation.name": "chat"})
    genai_semconv.map_span(_span(attributes), OtlpSettings(), result)
    (event,) = result.events
    assert {
        k: event.raw.get(k) for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    } == {"input_tokens": 120, "output_tokens": 30, "cache_read_tokens": 800, "cache_write_tokens": 40}


def test_a_span_without_cache_usage_leaves_the_cache_fields_out() -> None:
    result = MapResult()
    genai_semconv.map_span(
        _span({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1}),
        OtlpSettings(),
        result,
    )
    assert "cache_read_tokens" not in result.events[0].raw and "cache_write_tokens" not in result.events[0].raw


def _metrics_request(
    name: str, value: int, kind: str = "sum", token_type: str | None = None
) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    for key, text in WHO.items():
        rm.resource.attributes.append(KeyValue(key=key))
        rm.resource.attributes[-1].value.string_value = text
    metric = rm.scope_metrics.add().metrics.add()
    metric.name = name
    data = getattr(metric, kind)
    data.aggregation_temporality = 1  # delta
    if kind == "sum":
        data.is_monotonic = True
    point = data.data_points.add()
    point.start_time_unix_nano, point.time_unix_nano = T - 10**9, T
    if kind == "sum":
        point.as_int = value
    else:
        point.sum, point.count = value, 1
    for key, text in {
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.provider.name": "openai",
        **({"gen_ai.token.type": token_type} if token_type else {}),
    }.items():
        point.attributes.append(KeyValue(key=key))
        point.attributes[-1].value.string_value = text
    return request


@pytest.mark.parametrize(
    "name, kind, token_type, field",
    [
        ("gen_ai.client.inference.usage.input_tokens", "sum", None, "input_tokens"),
        ("gen_ai.client.inference.usage.output_tokens", "sum", None, "output_tokens"),
        ("gen_ai.client.inference.usage.cache_read.input_tokens", "sum", None, "cache_read_tokens"),
        ("gen_ai.client.inference.usage.cache_write.input_tokens", "histogram", None, "cache_write_tokens"),
        ("gen_ai.client.token.usage", "histogram", "input", "input_tokens"),
        ("gen_ai.client.token.usage", "histogram", "cache_read", "cache_read_tokens"),
    ],
)
def test_usage_metrics_old_and_new_give_spend_when_usage_comes_from_metrics(
    name: str, kind: str, token_type: str | None, field: str
) -> None:
    mapper = Mapper(OtlpSettings(genai_usage_from="metrics"))
    result = mapper.map_metrics(_metrics_request(name, 700, kind, token_type))
    (event,) = result.events
    assert event.raw[field] == 700 and event.raw["model"] == "openai/gpt-4.1"


def test_usage_metrics_are_superseded_by_spans_by_default_so_nothing_doubles() -> None:
    result = Mapper(OtlpSettings()).map_metrics(_metrics_request("gen_ai.client.inference.usage.input_tokens", 700))
    assert result.events == [] and result.superseded == {"metric:gen_ai.client.inference.usage.input_tokens": 1}


# -- identity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client, record, resource, actor",
    [
        # Claude Code with an API key: user.id (an install hash) on each record; the lab's user.email
        # on the resource (OTEL_RESOURCE_ATTRIBUTES) now wins: the preference order decides
        (
            "claude-code",
            {"user.id": "48d5af54", "session.id": "s"},
            {"user.email": "ada@lab.example"},
            "ada@lab.example",
        ),
        ("claude-code logged in", {"user.id": "48d5af54", "user.account_uuid": "acc-1"}, {}, "acc-1"),
        ("claude-code api key", {"user.id": "48d5af54"}, {}, "48d5af54"),
        ("gemini-cli", {"installation.id": "2f85af5d", "session.id": "s"}, {}, "2f85af5d"),
        ("codex", {"conversation.id": "01a2"}, {}, "unidentified"),  # a conversation is not a person
        ("genai sdk, team only", {}, {"team": "evals"}, "unidentified"),
    ],
)
def test_each_clients_identity_fallback(client: str, record: dict, resource: dict, actor: str) -> None:
    settings = IdentitySettings()
    event, _ = envelope(settings, record, resource)
    assert event["actor"] == actor, client
    assert ResourceIdentity(settings, resource).values(record)[0] == actor, client


def test_the_lab_identity_map_turns_an_installation_into_its_person() -> None:
    settings = OtlpSettings.from_mapping({"identity": {"people": {"2f85af5d": "ada@lab.example"}}}).identity
    assert envelope(settings, {"installation.id": "2f85af5d"}, {})[0]["actor"] == "ada@lab.example"
    assert ResourceIdentity(settings, {"installation.id": "2f85af5d"}).values({})[0] == "ada@lab.example"
    assert envelope(settings, {"installation.id": "other"}, {})[0]["actor"] == "other"


def test_a_bad_identity_map_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="identity.people"):
        OtlpSettings.from_mapping({"identity": {"people": {"x": 3}}})


def test_unidentified_events_are_counted_by_tool_and_logged_with_what_to_set(caplog: pytest.LogCaptureFixture) -> None:
    mapper = Mapper(OtlpSettings())
    stats = OtlpStats(mapper)
    result = MapResult()
    genai_semconv.map_span(
        Record(
            0,
            "span 0",
            {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1},
            {"service.name": "lab-agent", "team": "evals"},
            "s",
            T,
            "chat",
            extra={"trace_id": "ab", "span_id": "cd", "start_ns": T, "error": False},
        ),
        mapper.settings,
        result,
    )
    with caplog.at_level(logging.WARNING):
        stats.add("traces", result)
        stats.add("traces", result)  # the warning is not repeated for every export
    assert stats.snapshot()["otlp_events_without_identity"] == {"lab-agent": 2}
    warnings = [r.getMessage() for r in caplog.records if "no identity attribute" in r.getMessage()]
    assert len(warnings) == 1
    assert "OTEL_RESOURCE_ATTRIBUTES=user.email=" in warnings[0] and "[otlp.identity.people]" in warnings[0]


# -- unmapped, by name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("gemini_cli.startup_stats", "gemini_cli.startup_stats"),
        ("chat gpt-4o-mini", "chat"),
        ("Create hello.py and commit it", "Create"),
        ("print('secret') > x", "other"),
        ("", "other"),
        ("x" * 65, "other"),
    ],
)
def test_a_sender_chosen_name_becomes_a_short_label_or_other(name: str, expected: str) -> None:
    assert label(name) == expected


def test_unmapped_names_are_bounded() -> None:
    stats = OtlpStats(Mapper(OtlpSettings()))
    for n in range(MAX_UNMAPPED_NAMES + 50):
        result = MapResult()
        result.unmapped[f"log:event.{n}"] += 1
        stats.add("logs", result)
    unmapped = stats.snapshot()["otlp_unmapped"]
    assert len(unmapped) == MAX_UNMAPPED_NAMES + 1 and unmapped["log:other"] == 50


def test_unmapped_log_events_and_metrics_are_counted_by_their_own_names() -> None:
    mapper = Mapper(OtlpSettings())
    result = mapper.map_metrics(_metrics_request("gemini_cli.startup.duration", 3, "histogram"))
    assert result.unmapped == {"metric:gemini_cli.startup.duration": 1}

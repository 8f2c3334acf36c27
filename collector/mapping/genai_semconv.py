"""The OpenTelemetry GenAI semantic conventions (OpenLLMetry, OpenInference, OTel SDKs) → events.

Spans (``gen_ai.operation.name``, or the span name's first word):

* ``invoke_agent`` → an AI ``task`` (task_id = the span id; duration from the span; outcome
  ``failure`` when the span's status is ERROR; model from ``gen_ai.request.model`` /
  ``gen_ai.response.model``). An agent span's own token usage is **not** spent: it may sum
  its whole subtree, so only model-call spans are.
* model calls (``chat``, ``text_completion``, ``generate_content``, ``embeddings``) with
  token usage → ``spend`` (ai_tools, amount 0 unless ``gen_ai.usage.cost`` is given). Each
  token kind is read from the current convention's name first, then the older ones, side by
  side (:data:`SPAN_TOKENS`): input ``gen_ai.usage.input_tokens`` (older
  ``gen_ai.usage.prompt_tokens``, OpenInference ``llm.token_count.prompt``), output
  ``gen_ai.usage.output_tokens`` (``completion_tokens``, ``llm.token_count.completion``),
  cache reads ``gen_ai.usage.cache_read.input_tokens`` (OpenLLMetry's
  ``gen_ai.usage.cache_read_input_tokens``, OpenInference's
  ``llm.token_count.prompt_details.cache_read``) → ``cache_read_tokens``, cache writes
  ``gen_ai.usage.cache_creation.input_tokens`` (also ``cache_write.input_tokens``,
  ``cache_creation_input_tokens``, ``llm.token_count.prompt_details.cache_write``) →
  ``cache_write_tokens``. Cache tokens are never added to input tokens: whether a client's
  input includes its cached part is that client's convention (docs/otlp-mapping.md).
* ``execute_tool`` spans and other spans map to nothing and are counted by operation, or by
  the span's name when it has none (``span:<name>``, :mod:`~autoscope.collector.mapping.unmapped`).

Provider: ``gen_ai.provider.name``, or the deprecated ``gen_ai.system`` (older
instrumentations send only that). It prefixes the model of every mapped event,
``<provider>/<model>`` (``openai/gpt-4.1``), so one model name served by two providers (a
model through Azure and through OpenAI, say) stays two; a span that names a provider but no
model gets the provider alone. A model already prefixed with its provider keeps one prefix.

Metrics: the older ``gen_ai.client.token.usage`` (a histogram; its ``sum`` per
``gen_ai.token.type``: ``input``, ``output``, and ``cache_read``/``cache_creation`` where an
instrumentation sends them) and the current ``gen_ai.client.inference.usage.*`` instruments
that replace it (``input_tokens``, ``output_tokens``, ``cache_read.input_tokens``,
``cache_write.input_tokens``; :data:`USAGE_METRICS`) → ``spend`` tokens, only with
``genai_usage_from = "metrics"`` (default: spans; the metrics are then counted as superseded).
``reasoning.output_tokens`` is a part of output and other GenAI metrics are counted as
unmapped, by name.
"""

from __future__ import annotations

from typing import Any

from autoscope.collector.mapping.attributes import as_int, as_number, as_str
from autoscope.collector.mapping.common import base_event, task_event
from autoscope.collector.mapping.metrics_state import Increment
from autoscope.collector.mapping.records import MappedEvent, MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.mapping.unmapped import unmapped_key

MODEL_CALLS = ("chat", "text_completion", "generate_content", "embeddings")
TOKEN_METRIC = "gen_ai.client.token.usage"
#: the current conventions' usage instruments (one per token kind) → the spend field
USAGE_METRICS = {
    "gen_ai.client.inference.usage.input_tokens": "input_tokens",
    "gen_ai.client.inference.usage.output_tokens": "output_tokens",
    "gen_ai.client.inference.usage.cache_read.input_tokens": "cache_read_tokens",
    "gen_ai.client.inference.usage.cache_write.input_tokens": "cache_write_tokens",
}
#: ``gen_ai.token.type`` of the older histogram → the spend field
TOKEN_TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_creation": "cache_write_tokens",
    "cache_write": "cache_write_tokens",
}
#: a spend field → the span attributes that may carry it, the current convention's name first
SPAN_TOKENS: dict[str, tuple[str, ...]] = {
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
}


def operation(record: Record) -> str:
    op = as_str(record.attributes.get("gen_ai.operation.name"))
    if op:
        return op
    first = record.name.split(" ", 1)[0]
    return first if first in ("invoke_agent", "execute_tool", *MODEL_CALLS) else ""


def provider(attributes: dict[str, Any]) -> tuple[str | None, str]:
    """The provider and the attribute it came from (the current name, else the deprecated one)."""
    for name in ("gen_ai.provider.name", "gen_ai.system"):
        value = as_str(attributes.get(name))
        if value:
            return value, name
    return None, "gen_ai.provider.name"


def _model(attributes: dict[str, Any]) -> tuple[str | None, str]:
    """``<provider>/<model>`` (or either alone) and the attributes it came from, for errors."""
    name = "gen_ai.response.model" if as_str(attributes.get("gen_ai.response.model")) else "gen_ai.request.model"
    model = as_str(attributes.get(name))
    vendor, vendor_name = provider(attributes)
    if vendor is None:
        return model, name
    if model is None:
        return vendor, vendor_name
    if model.startswith(f"{vendor}/"):
        return model, name
    return f"{vendor}/{model}", f"{vendor_name} + {name}"


def _first_int(attributes: dict[str, Any], *names: str) -> tuple[int | None, str]:
    for name in names:
        value = as_int(attributes.get(name))
        if value is not None:
            return value, name
    return None, names[0]


def map_span(record: Record, settings: OtlpSettings, result: MapResult) -> None:
    op = operation(record)
    ids = (record.extra["trace_id"], record.extra["span_id"])
    if op == "invoke_agent":
        duration = max(0, record.time_ns - record.extra["start_ns"]) / 1e9
        model, model_from = _model(record.attributes)
        event = task_event(
            record, settings, record.extra["span_id"] or "unknown", duration, model, "genai.task", ("span", *ids)
        )
        event.fields["model"] = model_from
        if record.extra.get("error") and "autoscope.outcome" not in record.attributes:
            event.raw["outcome"] = "failure"
            event.fields["outcome"] = "status.code"
        result.events.append(event)
        return
    if op in MODEL_CALLS:
        attrs = record.attributes
        tokens = {field: _first_int(attrs, *names) for field, names in SPAN_TOKENS.items()}
        if tokens["input_tokens"][0] is None and tokens["output_tokens"][0] is None:
            result.unmapped[f"span:gen_ai.{op}(no usage)"] += 1
            return
        if settings.genai_usage_from != "spans":
            result.superseded[f"span:gen_ai.{op}"] += 1
            return
        raw, fields = base_event(record, settings, "genai.spend", "span", *ids)
        raw.update(type="spend", category="ai_tools", amount_usd=as_number(attrs.get("gen_ai.usage.cost")) or 0.0)
        model, model_from = _model(attrs)
        fields.update(model=model_from, amount_usd="gen_ai.usage.cost")
        for field, (value, name) in tokens.items():
            fields[field] = name
            if value is not None:
                raw[field] = value
        if model:
            raw["model"] = model
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
        return
    result.unmapped[f"span:gen_ai.{op}" if op else unmapped_key("span", record.name)] += 1


def is_metric(name: str) -> bool:
    return name.startswith("gen_ai.")


def is_usage_metric(name: str) -> bool:
    """Whether ``name`` is a GenAI token-usage instrument, older or current."""
    return name == TOKEN_METRIC or name in USAGE_METRICS


def map_metric_point(
    record: Record, series: str, increment: Increment, settings: OtlpSettings, result: MapResult
) -> None:
    if record.name == TOKEN_METRIC:
        kind = as_str(record.attributes.get("gen_ai.token.type")) or ""
        field = TOKEN_TYPES.get(kind)
        if field is None:
            result.unmapped[f"metric:{TOKEN_METRIC}[type={kind[:32]}]"] += 1
            return
    else:
        field = USAGE_METRICS[record.name]
    raw, fields = base_event(record, settings, "genai.spend", series, increment.start_ns, increment.end_ns)
    raw.update(type="spend", category="ai_tools", amount_usd=0.0, **{field: as_int(increment.amount)})
    model, fields["model"] = _model(record.attributes)
    if model:
        raw["model"] = model
    result.events.append(MappedEvent(raw, record.origin, record.where, fields))

"""The OpenTelemetry GenAI semantic conventions (OpenLLMetry, OpenInference, OTel SDKs) → events.

Spans (``gen_ai.operation.name``, or the span name's first word):

* ``invoke_agent`` → an AI ``task`` (task_id = the span id; duration from the span; outcome
  ``failure`` when the span's status is ERROR; model from ``gen_ai.request.model`` /
  ``gen_ai.response.model``). An agent span's own token usage is **not** spent: it may sum
  its whole subtree, so only model-call spans are.
* model calls (``chat``, ``text_completion``, ``generate_content``, ``embeddings``) with
  token usage → ``spend`` (ai_tools, amount 0 unless ``gen_ai.usage.cost`` is given):
  ``gen_ai.usage.input_tokens``/``output_tokens`` (or the older ``prompt_tokens``/
  ``completion_tokens``). Cache reads/writes (``gen_ai.usage.cache_read.input_tokens`` …) stay
  apart: not in the contract, not added to input tokens.
* ``execute_tool`` spans and other spans map to nothing and are counted by operation.

Provider: ``gen_ai.provider.name``, or the deprecated ``gen_ai.system`` (older
instrumentations send only that). It prefixes the model of every mapped event,
``<provider>/<model>`` (``openai/gpt-4.1``), so one model name served by two providers (a
model through Azure and through OpenAI, say) stays two; a span that names a provider but no
model gets the provider alone. A model already prefixed with its provider keeps one prefix.

Metrics: ``gen_ai.client.token.usage`` (a histogram; its ``sum`` per ``gen_ai.token.type``)
→ ``spend`` tokens, only with ``genai_usage_from = "metrics"`` (default: spans; the metric
is then counted as superseded). Other GenAI metrics are counted as unmapped.
"""

from __future__ import annotations

from typing import Any

from autoscope.collector.mapping.attributes import as_int, as_number, as_str
from autoscope.collector.mapping.common import base_event, task_event
from autoscope.collector.mapping.metrics_state import Increment
from autoscope.collector.mapping.records import MappedEvent, MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings

MODEL_CALLS = ("chat", "text_completion", "generate_content", "embeddings")
TOKEN_METRIC = "gen_ai.client.token.usage"


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
        event = task_event(record, settings, record.extra["span_id"] or "unknown", duration,
                           model, "genai.task", ("span", *ids))
        event.fields["model"] = model_from
        if record.extra.get("error") and "autoscope.outcome" not in record.attributes:
            event.raw["outcome"] = "failure"
            event.fields["outcome"] = "status.code"
        result.events.append(event)
        return
    if op in MODEL_CALLS:
        attrs = record.attributes
        inputs, input_name = _first_int(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
        outputs, output_name = _first_int(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
        if inputs is None and outputs is None:
            result.unmapped[f"span:gen_ai.{op}(no usage)"] += 1
            return
        if settings.genai_usage_from != "spans":
            result.superseded[f"span:gen_ai.{op}"] += 1
            return
        raw, fields = base_event(record, settings, "genai.spend", "span", *ids)
        raw.update(type="spend", category="ai_tools", amount_usd=as_number(attrs.get("gen_ai.usage.cost")) or 0.0)
        model, model_from = _model(attrs)
        fields.update(input_tokens=input_name, output_tokens=output_name, model=model_from,
                      amount_usd="gen_ai.usage.cost")
        if inputs is not None:
            raw["input_tokens"] = inputs
        if outputs is not None:
            raw["output_tokens"] = outputs
        if model:
            raw["model"] = model
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
        return
    result.unmapped[f"span:gen_ai.{op}" if op else "span:other"] += 1


def is_metric(name: str) -> bool:
    return name.startswith("gen_ai.")


def map_metric_point(
    record: Record, series: str, increment: Increment, settings: OtlpSettings, result: MapResult
) -> None:
    kind = as_str(record.attributes.get("gen_ai.token.type")) or ""
    field = {"input": "input_tokens", "output": "output_tokens"}.get(kind)
    if field is None:
        result.unmapped[f"metric:{TOKEN_METRIC}[type={kind[:32]}]"] += 1
        return
    raw, fields = base_event(record, settings, "genai.spend", series, increment.start_ns, increment.end_ns)
    raw.update(type="spend", category="ai_tools", amount_usd=0.0, **{field: as_int(increment.amount)})
    model, fields["model"] = _model(record.attributes)
    if model:
        raw["model"] = model
    result.events.append(MappedEvent(raw, record.origin, record.where, fields))

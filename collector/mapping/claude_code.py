"""Claude Code's telemetry (its documented log events and metrics) → contract dicts.

Events (logs signal; body ``claude_code.<name>``, attribute ``event.name`` = ``<name>``):

* ``user_prompt`` → an AI ``task`` (task_id = ``prompt.id``); its duration and model come from
  the ``api_request`` events of the same prompt in the same export.
* ``api_request`` → ``spend`` (ai_tools): ``cost_usd``, ``model``, ``input_tokens``,
  ``output_tokens``. Cache reads/writes are kept apart: not added to input tokens.
* ``tool_decision`` → ``review`` of the prompt's task: ``accept`` → approved, ``reject`` →
  rejected, a user abort → intervened. Decisions made by configuration (no human) are not
  reviews unless ``review_config_decisions``.
* others (``api_error``, ``tool_result`` …) map to nothing and are counted.

Metrics (monotonic sums, delta or cumulative):

* ``claude_code.commit.count`` / ``pull_request.count`` → one ``contribution`` (AI first
  author, ai_share 1) per unit of increase.
* ``cost.usage`` / ``token.usage`` / ``code_edit_tool.decision`` → ``spend`` / ``review``, but
  only with ``claude_code_usage_from = "metrics"``; by default the events carry the same
  usage and these points are counted as superseded, so nothing is doubled.
* ``session.count``, ``lines_of_code.count``, ``active_time.total`` map to nothing (counted).
"""

from __future__ import annotations

from typing import Any

from autoscope.collector.mapping.attributes import as_int, as_number, as_str, short_hash
from autoscope.collector.mapping.common import base_event, record_identity, task_event, units
from autoscope.collector.mapping.metrics_state import Increment
from autoscope.collector.mapping.records import MappedEvent, MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings

PREFIX = "claude_code."
SCOPE = "com.anthropic.claude_code"
USAGE_EVENTS = ("api_request", "tool_decision")
USAGE_METRICS = ("claude_code.cost.usage", "claude_code.token.usage", "claude_code.code_edit_tool.decision")
CONTRIBUTION_METRICS = {"claude_code.commit.count": "commit", "claude_code.pull_request.count": "pull_request"}


def short_name(record: Record) -> str | None:
    """The event's short name (``user_prompt`` …) when the record is Claude Code's, else None."""
    body = record.body if isinstance(record.body, str) else ""
    if body.startswith(PREFIX):
        return record.name.removeprefix(PREFIX) or body[len(PREFIX):]
    if record.name.startswith(PREFIX) or record.scope.startswith(SCOPE):
        return record.name.removeprefix(PREFIX) or None
    return None


def is_metric(name: str) -> bool:
    return name.startswith(PREFIX)


def map_logs(records: list[Record], settings: OtlpSettings, result: MapResult) -> None:
    """Map one export's Claude Code log records (grouped so a prompt sees its API calls)."""
    calls: dict[str, list[Record]] = {}
    for record in records:
        if short_name(record) == "api_request":
            prompt = as_str(record.attributes.get("prompt.id"))
            if prompt:
                calls.setdefault(prompt, []).append(record)
    for record in records:
        before = len(result.events)
        try:
            _map_log(record, settings, calls, result)
        except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
            result.fail(record, "log:claude_code", exc, before)


def _map_log(record: Record, settings: OtlpSettings, calls: dict[str, list[Record]], result: MapResult) -> None:
    name = short_name(record) or "unknown"
    if name in USAGE_EVENTS and settings.claude_code_usage_from != "events":
        result.superseded[f"log:claude_code.{name}"] += 1
    elif name == "user_prompt":
        prompt = as_str(record.attributes.get("prompt.id")) or short_hash(*record_identity(record))
        own = calls.get(prompt, [])
        duration = sum(as_number(c.attributes.get("duration_ms")) or 0 for c in own) / 1000
        model = next((as_str(c.attributes.get("model")) for c in own if c.attributes.get("model")), None)
        result.events.append(
            task_event(record, settings, prompt, duration, model, "claude_code.task", record_identity(record))
        )
    elif name == "api_request":
        result.events.append(_spend_from_request(record, settings))
    elif name == "tool_decision":
        event = _review(
            record, settings, as_str(record.attributes.get("decision")),
            as_str(record.attributes.get("source")),
            as_str(record.attributes.get("prompt.id")) or as_str(record.attributes.get("session.id")),
            "claude_code.review", record_identity(record),
        )
        if event is None:
            result.unmapped["log:claude_code.tool_decision(config)"] += 1
        else:
            result.events.append(event)
    else:
        result.unmapped[f"log:claude_code.{name}"] += 1


def _spend_from_request(record: Record, settings: OtlpSettings) -> MappedEvent:
    raw, fields = base_event(record, settings, "claude_code.spend", *record_identity(record))
    attrs = record.attributes
    raw.update(type="spend", category="ai_tools", amount_usd=as_number(attrs.get("cost_usd")) or 0.0)
    fields.update(amount_usd="cost_usd", model="model", input_tokens="input_tokens", output_tokens="output_tokens")
    for field in ("model",):
        if as_str(attrs.get(field)):
            raw[field] = as_str(attrs.get(field))
    for field in ("input_tokens", "output_tokens"):
        if as_int(attrs.get(field)) is not None:
            raw[field] = as_int(attrs.get(field))
    return MappedEvent(raw, record.origin, record.where, fields)


def _review(
    record: Record, settings: OtlpSettings, decision: str | None, source: str | None,
    task_id: str | None, kind: str, identity: tuple[Any, ...],
) -> MappedEvent | None:
    if source == "config" and not settings.review_config_decisions:
        return None
    raw, fields = base_event(record, settings, kind, *identity)
    decision = (decision or "").lower()
    if decision == "accept":
        action = "approved"
    elif source == "user_abort":
        action = "intervened"
    elif decision == "reject":
        action = "rejected"
    else:
        action = decision or "unknown"  # validation rejects it, naming the attribute
    raw.update(type="review", task_id=task_id or "unknown", action=action, minutes=0.0)
    if "actor" in raw:
        raw["reviewer"] = raw["actor"]
    fields.update(action="decision", task_id="prompt.id", reviewer=fields["actor"])
    return MappedEvent(raw, record.origin, record.where, fields)


def map_metric_point(
    record: Record, series: str, increment: Increment, settings: OtlpSettings, result: MapResult
) -> None:
    """Map one point's increment of a Claude Code metric the caller decided to map."""
    name = record.name
    attrs = record.attributes
    window = (series, increment.start_ns, increment.end_ns)
    if name in CONTRIBUTION_METRICS:
        for n in range(units(increment.amount, result, f"metric:{name}")):
            raw, fields = base_event(record, settings, "claude_code.contribution", *window, n)
            raw.update(
                type="contribution", contribution_id=short_hash(*window, n),
                kind=CONTRIBUTION_METRICS[name], first_author="ai", ai_share=1.0,
            )
            result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.cost.usage":
        raw, fields = base_event(record, settings, "claude_code.spend", *window)
        raw.update(type="spend", category="ai_tools", amount_usd=increment.amount)
        if as_str(attrs.get("model")):
            raw["model"] = as_str(attrs.get("model"))
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.token.usage":
        kind = as_str(attrs.get("type")) or ""
        field = {"input": "input_tokens", "output": "output_tokens"}.get(kind)
        if field is None:  # cacheRead / cacheCreation: kept apart, no field in the contract
            result.unmapped[f"metric:claude_code.token.usage[type={kind[:32]}]"] += 1
            return
        raw, fields = base_event(record, settings, "claude_code.spend", *window)
        raw.update(type="spend", category="ai_tools", amount_usd=0.0, **{field: as_int(increment.amount)})
        if as_str(attrs.get("model")):
            raw["model"] = as_str(attrs.get("model"))
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.code_edit_tool.decision":
        task_id = as_str(attrs.get("session.id"))
        for n in range(units(increment.amount, result, f"metric:{name}")):
            event = _review(
                record, settings, as_str(attrs.get("decision")), as_str(attrs.get("source")),
                task_id, "claude_code.review", (*window, n),
            )
            if event is None:
                result.unmapped["metric:claude_code.code_edit_tool.decision(config)"] += 1
                return
            result.events.append(event)
    else:
        result.unmapped[f"metric:{name}"] += 1

"""Claude Code's telemetry (its documented log events and metrics) → contract dicts.

Events (logs signal; body ``claude_code.<name>``, attribute ``event.name`` = ``<name>``):

* ``user_prompt`` → an ``agent_turn_fact`` ``prompt`` (turn = ``prompt.id``), or
  ``slash_command`` when it has ``command_name``: the warehouse makes the turn's AI task from
  every fact of it, whatever export carried them (``warehouse/agent_turns.py``).
* ``api_request`` → ``spend`` (ai_tools): ``cost_usd``, ``model``, ``input_tokens``,
  ``output_tokens`` (cache reads/writes are not added to input tokens), and a ``model_call``
  fact (``duration_ms``, model).
* ``tool_decision`` → ``review`` of the turn's task: ``accept`` → approved, ``reject`` →
  rejected, a user abort → intervened; ``oversight`` from ``source``: ``user_*`` → person,
  ``config`` (an allowlist, accept-edits — and bypass, which Claude Code reports the same way)
  → rule. Plus an ``activity`` fact, and a ``permission`` grant of the tool's scope for the
  session (:func:`_grant`: Claude Code reports no permission mode, so decisions show it).
* ``tool_result`` → a ``tool_call`` fact; any other record with a ``prompt.id`` → ``activity``.

Metrics (monotonic sums, delta or cumulative):

* ``claude_code.commit.count`` / ``pull_request.count`` → one ``contribution`` (AI first
  author, ai_share 1) per unit of increase.
* ``cost.usage`` / ``token.usage`` / ``code_edit_tool.decision`` → ``spend`` / ``review``, but
  only with ``claude_code_usage_from = "metrics"``; by default the events carry the same
  usage and these points are counted as superseded, so nothing is doubled.
* ``lines_of_code.count`` (type added/removed) → a ``lines`` fact of the session, always.
* ``active_time.total`` (seconds) of type ``user`` → a ``time_allocation`` of the increment in
  minutes, activity ``directing_ai``, origin ``agent_telemetry``, always: the time the person
  was actively driving the agent (typing, answering it). Type ``cli`` — the agent's own working
  time (tool runs, model responses) — is not the researcher's time (they may be doing anything
  meanwhile) and maps to nothing, counted ``metric:claude_code.active_time.total[type=cli]``.
  Claude Code exports delta points by default; cumulative ones become increments like every
  sum (:mod:`.metrics_state`), so no second counted.
* ``session.count`` maps to nothing (counted).
"""

from __future__ import annotations

from typing import Any

from autoscope.collector.mapping.agent_turns import (
    SessionMemory,
    model_call_fact,
    model_name,
    permission_events,
    review_event,
    spend_event,
    turn_fact,
    turn_key,
)
from autoscope.collector.mapping.attributes import as_int, as_number, as_str, short_hash
from autoscope.collector.mapping.common import base_event, record_identity, units
from autoscope.collector.mapping.metrics_state import Increment
from autoscope.collector.mapping.records import MappedEvent, MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings

PREFIX = "claude_code."
SCOPE = "com.anthropic.claude_code"
USAGE_EVENTS = ("api_request", "tool_decision")
USAGE_METRICS = ("claude_code.cost.usage", "claude_code.token.usage", "claude_code.code_edit_tool.decision")
CLIENT = "claude-code"
#: metrics mapped whatever ``claude_code_usage_from`` says (they have no event twin)
ACTIVE_TIME_METRIC = "claude_code.active_time.total"
FACT_METRICS = ("claude_code.lines_of_code.count", ACTIVE_TIME_METRIC)
CONTRIBUTION_METRICS = {"claude_code.commit.count": "commit", "claude_code.pull_request.count": "pull_request"}


def short_name(record: Record) -> str | None:
    """The event's short name (``user_prompt`` …) when the record is Claude Code's, else None."""
    body = record.body if isinstance(record.body, str) else ""
    if body.startswith(PREFIX):
        return record.name.removeprefix(PREFIX) or body[len(PREFIX) :]
    if record.name.startswith(PREFIX) or record.scope.startswith(SCOPE):
        return record.name.removeprefix(PREFIX) or None
    return None


def is_metric(name: str) -> bool:
    return name.startswith(PREFIX)


def map_logs(
    records: list[Record], settings: OtlpSettings, result: MapResult, memory: SessionMemory | None = None
) -> None:
    """Map one export's Claude Code log records; each is mapped on its own (its turn is
    assembled in the warehouse from every export's facts; ``memory``: the grants each session
    was already reported to hold)."""
    for record in records:
        before = len(result.events)
        try:
            _map_log(record, settings, result, memory)
        except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
            result.fail(record, "log:claude_code", exc, before)


def _turn(record: Record) -> str | None:
    prompt = as_str(record.attributes.get("prompt.id"))
    return turn_key(CLIENT, prompt) if prompt else None


def _session(record: Record) -> str | None:
    return as_str(record.attributes.get("session.id")) or as_str(record.resource.get("session.id"))


#: ``tool_decision.source`` → oversight mode. Claude Code reports ``--dangerously-skip-permissions``
#: as ``config`` too, so bypass reads as a rule: its telemetry cannot tell them apart.
OVERSIGHT = {
    "config": "rule",
    "user_temporary": "person",
    "user_permanent": "person",
    "user_reject": "person",
    "user_abort": "person",
    "user": "person",
    "bypass": "never_asked",
    "bypass_permissions": "never_asked",
}


def _map_log(record: Record, settings: OtlpSettings, result: MapResult, memory: SessionMemory | None = None) -> None:
    name = short_name(record) or "unknown"
    attrs = record.attributes
    session, turn = _session(record), _turn(record)
    identity = record_identity(record)
    if name in USAGE_EVENTS and settings.claude_code_usage_from != "events":
        result.superseded[f"log:claude_code.{name}"] += 1
    elif name == "user_prompt":
        if session is None:
            result.unmapped["log:claude_code.user_prompt(no session.id)"] += 1
            return
        turn = turn or turn_key(CLIENT, short_hash(*identity))
        kind = "slash_command" if as_str(attrs.get("command_name")) else "prompt"
        result.events.append(turn_fact(record, settings, kind, session, turn, identity))
        return
    elif name == "api_request":
        result.events.append(_spend_from_request(record, settings))
    elif name == "tool_decision":
        result.events.append(
            _review(
                record,
                settings,
                as_str(attrs.get("decision")),
                as_str(attrs.get("source")),
                turn or turn_key(CLIENT, "session", session),
                "claude_code.review",
                identity,
            )
        )
        result.events.extend(_grant(record, settings, session, memory))
    elif name not in ("tool_result", "api_error") and not turn:
        result.unmapped[f"log:claude_code.{name}"[:96]] += 1
    # every record of a turn is a fact of it: the turn's wall time runs to its last record
    if session is None or not turn and name != "api_request":
        return
    if name == "api_request":
        model = model_name(as_str(attrs.get("model")))
        duration_ms = as_number(attrs.get("duration_ms"))
        result.events.append(model_call_fact(record, settings, session, turn, identity, model, duration_ms))
    elif name == "tool_result":
        result.events.append(turn_fact(record, settings, "tool_call", session, turn, identity))
    else:
        result.events.append(turn_fact(record, settings, "activity", session, turn, identity))


#: Claude Code's tools → the permission scope using them takes (read-only tools take none)
TOOL_SCOPES = {
    "Edit": "repo_write",
    "MultiEdit": "repo_write",
    "Write": "repo_write",
    "NotebookEdit": "repo_write",
    "Bash": "shell",
    "WebFetch": "internet",
    "WebSearch": "internet",
}


def _grant(
    record: Record, settings: OtlpSettings, session: str | None, memory: SessionMemory | None
) -> list[MappedEvent]:
    """The scope a ``tool_decision`` shows the session holds. Claude Code reports no permission
    mode (the recordings of default, accept-edits, allowlist and bypass sessions carry none), so
    the grant is read from the decisions: a tool allowed by ``config`` (an allowlist,
    accept-edits or bypass) is a scope held by rule; one a person allowed, a scope held by asking
    a person. A rejected tool grants nothing."""
    attrs = record.attributes
    scope = TOOL_SCOPES.get(as_str(attrs.get("tool_name")) or "")
    decision, source = (as_str(attrs.get("decision")) or "").lower(), (as_str(attrs.get("source")) or "").lower()
    if session is None or scope is None or decision != "accept":
        return []
    oversight = OVERSIGHT.get(source, "person")
    return permission_events(
        record,
        settings,
        client=CLIENT,
        session=session,
        grants={scope: oversight},
        granted_by="policy" if oversight != "person" else "person",
        mode=source or None,
        mode_attribute="source",
        memory=memory,
    )


def _spend_from_request(record: Record, settings: OtlpSettings) -> MappedEvent:
    attrs = record.attributes
    return spend_event(
        record,
        settings,
        kind="claude_code.spend",
        identity=record_identity(record),
        model=model_name(as_str(attrs.get("model"))),
        input_tokens=as_int(attrs.get("input_tokens")),
        output_tokens=as_int(attrs.get("output_tokens")),
        cache_read=as_int(attrs.get("cache_read_tokens")) or 0,
        cache_write=as_int(attrs.get("cache_creation_tokens")) or 0,
        reported_usd=as_number(attrs.get("cost_usd")) or 0.0,
        input_includes_cache=False,
        fields={
            "amount_usd": "cost_usd",
            "model": "model",
            "input_tokens": "input_tokens",
            "output_tokens": "output_tokens",
        },
    )


def _review(
    record: Record,
    settings: OtlpSettings,
    decision: str | None,
    source: str | None,
    task_id: str | None,
    kind: str,
    identity: tuple[Any, ...],
) -> MappedEvent:
    decision = (decision or "").lower()
    source = (source or "").lower()
    action = (
        "approved"
        if decision == "accept"
        else "intervened"
        if source == "user_abort"
        else "rejected"
        if decision == "reject"
        else decision or "unknown"
    )
    return review_event(
        record,
        settings,
        task_id=task_id or "unknown",
        action=action,
        oversight=OVERSIGHT.get(source, "person" if source.startswith("user") else "rule"),
        identity=identity,
        kind=kind,
        decision_attribute="decision",
    )


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
                type="contribution",
                contribution_id=short_hash(*window, n),
                kind=CONTRIBUTION_METRICS[name],
                first_author="ai",
                ai_share=1.0,
            )
            result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.lines_of_code.count":
        kind = as_str(attrs.get("type"))
        session = as_str(attrs.get("session.id")) or as_str(record.resource.get("session.id"))
        amount = units(increment.amount, result, f"metric:{name}")
        if kind not in ("added", "removed") or session is None:
            result.unmapped[f"metric:{name}(no type or session)"] += 1
            return
        if amount:
            # no prompt.id on a metric: the warehouse gives the lines to the session's latest
            # prompt at or before the point (its export time; lines add no wall time)
            result.events.append(
                turn_fact(record, settings, "lines", session, None, window, **{f"lines_{kind}": amount})
            )
    elif name == ACTIVE_TIME_METRIC:
        kind = as_str(attrs.get("type"))
        if kind != "user":  # cli: the agent's working time, not the person's (module docstring)
            result.unmapped[f"metric:{name}[type={(kind or 'none')[:16]}]"] += 1
            return
        raw, fields = base_event(record, settings, "claude_code.time_allocation", *window)
        raw.update(
            type="time_allocation", activity="directing_ai", minutes=increment.amount / 60, origin="agent_telemetry"
        )
        fields["minutes"] = f"{name} (s / 60)"
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.cost.usage":
        raw, fields = base_event(record, settings, "claude_code.spend", *window)
        raw.update(type="spend", category="ai_tools", amount_usd=increment.amount)
        if as_str(attrs.get("model")):
            raw["model"] = model_name(as_str(attrs.get("model")))
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
            raw["model"] = model_name(as_str(attrs.get("model")))
        result.events.append(MappedEvent(raw, record.origin, record.where, fields))
    elif name == "claude_code.code_edit_tool.decision":
        task_id = as_str(attrs.get("session.id"))
        for n in range(units(increment.amount, result, f"metric:{name}")):
            event = _review(
                record,
                settings,
                as_str(attrs.get("decision")),
                as_str(attrs.get("source")),
                task_id,
                "claude_code.review",
                (*window, n),
            )
            result.events.append(event)
    else:
        result.unmapped[f"metric:{name}"] += 1

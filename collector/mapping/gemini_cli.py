"""Gemini CLI's telemetry (its ``gemini_cli.*`` log events) → turn facts, spend and reviews.

* ``gemini_cli.user_prompt`` → a ``prompt`` fact (turn = ``prompt_id``); ``gemini_cli.slash_command``
  → a ``slash_command`` fact (not a task).
* ``gemini_cli.api_response`` → a ``model_call`` fact (model, ``duration_ms``) and a ``spend``:
  ``input_token_count`` (which includes ``cached_content_token_count``), ``output_token_count``;
  Gemini CLI reports no cost, so the USD comes from the price table and the row is ``priced``.
  Thoughts tokens are not a field of spend (they are billed as output by Google; the price
  table does not add them: the client's output count is what it says).
* ``gemini_cli.tool_call`` → a ``tool_call`` fact with the lines of its ``metadata``
  (``model_added_lines + user_added_lines`` …) and, when a decision was taken, a ``review`` of
  the turn. ``decision`` is ``accept`` under ``--yolo`` too, so the oversight mode comes from the
  approval mode in force: ``gemini_cli.config.approval_mode`` at start, changed by
  ``gemini_cli.plan.approval_mode_switch`` (remembered per session). ``yolo`` → never_asked;
  ``auto_accept``, or an edit under ``autoEdit`` → rule; otherwise a person answered.
* ``gemini_cli.config`` and ``gemini_cli.plan.approval_mode_switch`` → the session's
  ``permission`` grants under the approval mode (:func:`grants`; docs/otlp-mapping.md).
* every other record with a ``prompt_id`` → an ``activity`` fact (the turn's wall time runs to
  its last record); the rest is counted as unmapped.
"""

from __future__ import annotations

import json

from autoscope.collector.mapping.agent_turns import (
    SessionMemory,
    model_call_fact,
    permission_events,
    review_event,
    spend_event,
    turn_fact,
    turn_key,
)
from autoscope.collector.mapping.attributes import as_int, as_number, as_str
from autoscope.collector.mapping.common import record_identity
from autoscope.collector.mapping.records import MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings

CLIENT = "gemini-cli"
PREFIX = "gemini_cli."
EDIT_TOOLS = {"write_file", "replace", "edit"}
ACTIONS = {
    "accept": "approved",
    "auto_accept": "approved",
    "reject": "rejected",
    "modify": "modified",
    "cancel": "intervened",
}


def event_name(record: Record) -> str | None:
    """The event's name when the record is Gemini CLI's, else None."""
    name = record.name or as_str(record.attributes.get("event.name")) or ""
    if name.startswith(PREFIX):
        return name
    if record.resource.get("service.name") == CLIENT and "session.id" in record.attributes:
        return name or "unnamed"
    return None


def map_logs(records: list[Record], settings: OtlpSettings, memory: SessionMemory, result: MapResult) -> None:
    for record in records:
        before = len(result.events)
        try:
            _map_log(record, settings, memory, result)
        except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
            result.fail(record, "log:gemini_cli", exc, before)


def grants(mode: str) -> dict[str, str]:
    """The scopes a Gemini CLI session holds (scope → oversight) under its approval mode: it
    edits files and runs shell commands, asking a person first (``default``), editing without
    asking (``autoEdit``/``auto_edit``: edits by rule, commands still asked), or asking nothing
    (``yolo``)."""
    normal = mode.replace("_", "").lower()
    if normal == "yolo":
        return {"repo_write": "never_asked", "shell": "never_asked"}
    if normal == "autoedit":
        return {"repo_write": "rule", "shell": "person"}
    return {"repo_write": "person", "shell": "person"}


def _map_log(record: Record, settings: OtlpSettings, memory: SessionMemory, result: MapResult) -> None:
    name = event_name(record) or "unnamed"
    attrs = record.attributes
    session = as_str(attrs.get("session.id")) or as_str(record.resource.get("session.id"))
    prompt = as_str(attrs.get("prompt_id"))
    turn = turn_key(CLIENT, prompt) if prompt else None
    identity = record_identity(record)
    if session is None:
        result.unmapped[f"log:{name[:64]}(no session.id)"] += 1
        return
    if name in ("gemini_cli.config", "gemini_cli.plan.approval_mode_switch"):
        attribute = "approval_mode" if name == "gemini_cli.config" else "to_mode"
        mode = as_str(attrs.get(attribute)) or "default"
        memory.set(session, "approval_mode", mode)
        result.events.extend(
            permission_events(
                record,
                settings,
                client=CLIENT,
                session=session,
                grants=grants(mode),
                granted_by="policy",
                mode=mode,
                mode_attribute=attribute,
                memory=memory,
            )
        )
    if name == "gemini_cli.user_prompt":
        result.events.append(
            turn_fact(record, settings, "prompt", session, turn or turn_key(CLIENT, *identity[:2]), identity)
        )
    elif name == "gemini_cli.slash_command":
        result.events.append(
            turn_fact(record, settings, "slash_command", session, turn_key(CLIENT, *identity[:2]), identity)
        )
    elif name == "gemini_cli.api_response":
        model = as_str(attrs.get("model"))
        inputs, outputs = as_int(attrs.get("input_token_count")), as_int(attrs.get("output_token_count"))
        cached = as_int(attrs.get("cached_content_token_count")) or 0
        result.events.append(
            spend_event(
                record,
                settings,
                kind="gemini_cli.spend",
                identity=identity,
                model=model,
                input_tokens=inputs,
                output_tokens=outputs,
                cache_read=cached,
                input_includes_cache=True,
                fields={"input_tokens": "input_token_count", "output_tokens": "output_token_count", "model": "model"},
            )
        )
        duration_ms = as_number(attrs.get("duration_ms"))
        result.events.append(model_call_fact(record, settings, session, turn, identity, model, duration_ms))
    elif name == "gemini_cli.tool_call":
        _tool_call(record, settings, memory, session, turn, result)
    elif turn is not None:
        result.events.append(turn_fact(record, settings, "activity", session, turn, identity))
    elif name not in ("gemini_cli.config", "gemini_cli.plan.approval_mode_switch"):
        result.unmapped[f"log:{name[:64]}"] += 1


def _tool_call(
    record: Record,
    settings: OtlpSettings,
    memory: SessionMemory,
    session: str,
    turn: str | None,
    result: MapResult,
) -> None:
    attrs = record.attributes
    identity = record_identity(record)
    added = removed = None
    meta = attrs.get("metadata")
    if isinstance(meta, str) and meta:
        try:
            lines = json.loads(meta)
        except ValueError:
            lines = {}
        if isinstance(lines, dict):
            added = sum(as_int(lines.get(k)) or 0 for k in ("model_added_lines", "user_added_lines"))
            removed = sum(as_int(lines.get(k)) or 0 for k in ("model_removed_lines", "user_removed_lines"))
    result.events.append(
        turn_fact(record, settings, "tool_call", session, turn, identity, lines_added=added, lines_removed=removed)
    )
    decision = (as_str(attrs.get("decision")) or "").lower()
    if not decision or decision == "none":
        return  # a tool that needs no approval (reads), or one not even registered
    mode = memory.get(session, "approval_mode") or "default"
    tool = as_str(attrs.get("function_name")) or ""
    if mode == "yolo":
        oversight = "never_asked"
    elif decision == "auto_accept" or (mode == "autoEdit" and tool in EDIT_TOOLS):
        oversight = "rule"
    else:
        oversight = "person"
    result.events.append(
        review_event(
            record,
            settings,
            task_id=turn or turn_key(CLIENT, "session", session),
            action=ACTIONS.get(decision, decision),
            oversight=oversight,
            identity=identity,
            kind="gemini_cli.review",
            decision_attribute="decision",
        )
    )

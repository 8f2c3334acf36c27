"""What the coding-agent mappings (Claude Code, Gemini CLI, Codex CLI) share: turn facts, the
oversight mode of a decision, priced spend, and the little per-session state a client's
telemetry forces on the collector.

A **turn** is assembled in the warehouse, not here (``warehouse/agent_turns.py``): each record
becomes one ``agent_turn_fact`` carrying its session and, where the client says it, its turn.
Only what a client reports once per session and never again — Gemini's approval mode, Codex's
approval policy and which prompt a Codex record follows — is remembered here, in a bounded
map (:class:`SessionMemory`); after a collector restart a Codex record the collector has not
seen the prompt of goes without ``turn_id`` and the warehouse places it by time (the latest
prompt of its session), and a decision whose mode the collector no longer knows is a ``rule``
decision only when the client itself says so (see each mapping).
"""

from __future__ import annotations

import collections
import re
import threading
from typing import Any

from autoscope.collector.mapping.attributes import short_hash
from autoscope.collector.mapping.common import base_event, task_fields_of
from autoscope.collector.mapping.prices import find_price, price_usd
from autoscope.collector.mapping.records import MappedEvent, Record
from autoscope.collector.mapping.settings import OtlpSettings

_MODEL_SUFFIX = re.compile(r"\[[^\]]*\]$")


def model_name(value: str | None) -> str | None:
    """A model as one name: Claude Code's metrics say ``claude-opus-4-8[1m]`` (the context
    window) where its events say ``claude-opus-4-8``."""
    return _MODEL_SUFFIX.sub("", value) if value else value


def turn_key(client: str, *parts: Any) -> str:
    """A turn's id: a hash of the client's own key (prompt ids need not be labels: Gemini's
    end in ``####``)."""
    return short_hash(client, *parts)


def turn_fact(
    record: Record,
    settings: OtlpSettings,
    kind: str,
    session: str,
    turn: str | None,
    identity: tuple[Any, ...],
    **fields: Any,
) -> MappedEvent:
    raw, described = base_event(record, settings, "agent_turn_fact", kind, *identity)
    raw.update(type="agent_turn_fact", session_id=turn_key("session", session), kind=kind)
    if turn:
        raw["turn_id"] = turn
    if kind == "prompt":
        values, task_fields = task_fields_of(record, settings)
        values.pop("outcome", None)
        raw.update(values)
        described.update(task_fields)
        raw["size_source"] = "default" if task_fields["human_minutes"].startswith("task_defaults.") else "estimated"
    raw.update({name: value for name, value in fields.items() if value is not None})
    return MappedEvent(raw, record.origin, record.where, described)


def model_call_fact(
    record: Record,
    settings: OtlpSettings,
    session: str,
    turn: str | None,
    identity: tuple[Any, ...],
    model: str | None,
    duration_ms: float | None,
) -> MappedEvent:
    """A ``model_call`` fact: one call of the model within a turn, its model and its length."""
    duration_s = None if duration_ms is None else duration_ms / 1000
    return turn_fact(record, settings, "model_call", session, turn, identity, model=model, duration_s=duration_s)


def review_event(
    record: Record,
    settings: OtlpSettings,
    *,
    task_id: str,
    action: str,
    oversight: str,
    identity: tuple[Any, ...],
    kind: str,
    decision_attribute: str,
) -> MappedEvent:
    raw, fields = base_event(record, settings, kind, *identity)
    raw.update(type="review", task_id=task_id, action=action, minutes=0.0, oversight=oversight)
    if "actor" in raw:
        raw["reviewer"] = raw["actor"]
    fields.update(action=decision_attribute, reviewer=fields["actor"])
    return MappedEvent(raw, record.origin, record.where, fields)


def permission_events(
    record: Record,
    settings: OtlpSettings,
    *,
    client: str,
    session: str,
    grants: dict[str, str],
    granted_by: str,
    mode: str | None,
    mode_attribute: str,
    memory: SessionMemory | None = None,
) -> list[MappedEvent]:
    """A ``permission`` grant per scope of ``grants`` (scope → oversight) to the agent (the
    record's tool, so it matches the agent's tasks) for the session's actor, for this session
    only (docs/otlp-mapping.md, "Permission modes"). Each (session, scope, oversight, mode) is
    sent once: ``memory`` remembers what was sent, and the event_id is derived from those four,
    so what a restarted collector sends again is the same event, which the warehouse keeps once."""
    out = []
    for scope, oversight in grants.items():
        key = f"permission:{scope}:{oversight}:{mode}"
        if memory is not None:
            if memory.get(session, key):
                continue
            memory.set(session, key, True)
        raw, fields = base_event(record, settings, "permission", client, session, scope, oversight, mode)
        raw.update(
            type="permission",
            agent=raw.get("source", {}).get("tool", client),
            scope=scope,
            action="granted",
            granted_by=granted_by,
            oversight=oversight,
            session_id=turn_key("session", session),
        )
        if mode:
            raw["mode"] = mode
        fields.update(agent="source.tool", mode=mode_attribute, oversight=mode_attribute, session_id="session.id")
        out.append(MappedEvent(raw, record.origin, record.where, fields))
    return out


def spend_event(
    record: Record,
    settings: OtlpSettings,
    *,
    kind: str,
    identity: tuple[Any, ...],
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int = 0,
    cache_write: int = 0,
    reported_usd: float | None = None,
    input_includes_cache: bool = True,
    fields: dict[str, str] | None = None,
) -> MappedEvent:
    """A ``spend`` of one model call: the client's USD, else the price table's (``priced``)."""
    raw, described = base_event(record, settings, kind, *identity)
    raw.update(type="spend", category="ai_tools")
    if reported_usd is not None:
        raw["amount_usd"] = reported_usd
    else:
        price = find_price(settings.prices, model)
        raw["amount_usd"] = (
            0.0
            if price is None
            else price_usd(
                price,
                input_tokens=input_tokens or 0,
                output_tokens=output_tokens or 0,
                cache_read=cache_read,
                cache_write=cache_write,
                input_includes_cache=input_includes_cache,
            )
        )
        if price is not None:
            raw["priced"] = True
    if model:
        raw["model"] = model
    if input_tokens is not None:
        raw["input_tokens"] = input_tokens
    if output_tokens is not None:
        raw["output_tokens"] = output_tokens
    raw.update(cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    described.update(fields or {})
    return MappedEvent(raw, record.origin, record.where, described)


class SessionMemory:
    """A bounded, thread-safe map session → what the client said once (its approval mode,
    its current prompt). The oldest sessions are forgotten first (:data:`MAX_SESSIONS`)."""

    MAX_SESSIONS = 10_000

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._data: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._max = max_sessions
        self._lock = threading.Lock()

    def get(self, session: str, key: str) -> Any:
        with self._lock:
            entry = self._data.get(session)
            return None if entry is None else entry.get(key)

    def set(self, session: str, key: str, value: Any) -> None:
        with self._lock:
            entry = self._data.setdefault(session, {})
            self._data.move_to_end(session)
            entry[key] = value
            while len(self._data) > self._max:
                self._data.popitem(last=False)

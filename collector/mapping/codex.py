"""Codex CLI's telemetry (``codex.*`` log events; the name is the ``event.name`` attribute, its
``LogRecord.event_name`` being a source location) → turn facts, spend and reviews.

Codex's records name no turn: a turn is everything after a ``codex.user_prompt`` in the same
``conversation.id``. The collector remembers each conversation's current prompt and approval
policy (bounded, :class:`~autoscope.collector.mapping.agent_turns.SessionMemory`); a record it
cannot place (after a restart) goes without ``turn_id`` and the warehouse gives it to the
latest prompt of its conversation by time.

* ``codex.conversation_starts`` → the session's ``permission`` grants from its
  ``approval_policy`` and ``sandbox_policy`` (:func:`grants`; docs/otlp-mapping.md).
* ``codex.user_prompt`` → a ``prompt`` fact. The TUI's helper conversation (an escalation
  reviewer it starts next to the person's, with its own prompt) is one too: its telemetry
  cannot be told from a person's prompt under ``approval_policy = never``.
* ``codex.api_request`` → a ``model_call`` fact (``duration_ms``, ``model``).
* ``codex.sse_event`` of kind ``response.completed`` WITH usage (Codex logs each twice, once
  bare) → ``spend``: ``input_token_count`` (includes ``cached_token_count``),
  ``output_token_count``; no cost is reported, so the price table gives the USD (``priced``).
* ``codex.tool_decision`` → a ``review`` of the turn: ``source = User`` → person; under
  ``approval_policy = never`` → never_asked; ``Config`` otherwise → rule. ``approved*`` →
  approved, ``denied`` → rejected, ``abort`` → intervened. (A person's Esc emits no decision.)
* ``codex.tool_result`` → a ``tool_call`` fact (its arguments and output are never read);
  every other record of a conversation → an ``activity`` fact.
"""

from __future__ import annotations

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

CLIENT = "codex"
PREFIX = "codex."


def event_name(record: Record) -> str | None:
    name = as_str(record.attributes.get("event.name")) or record.name or ""
    return name if name.startswith(PREFIX) else None


def map_logs(records: list[Record], settings: OtlpSettings, memory: SessionMemory, result: MapResult) -> None:
    # in time order: a turn is what follows its prompt (an export is in order already, mostly)
    for record in sorted(records, key=lambda r: r.time_ns):
        before = len(result.events)
        try:
            _map_log(record, settings, memory, result)
        except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
            result.fail(record, "log:codex", exc, before)


#: ``approval_policy`` → whether the agent still asks a person (``on-failure``: only when the
#: sandbox refuses, so the sandbox is the standing rule)
APPROVAL_OVERSIGHT = {"never": "never_asked", "on-failure": "rule", "on-request": "person", "untrusted": "person"}


def grants(policy: str, sandbox: str) -> dict[str, str]:
    """The scopes a Codex session holds (scope → oversight) under its approval and sandbox
    policies: commands always (``shell``, inside the sandbox); writing the workspace without
    asking under ``workspace-write`` and ``danger-full-access``, else only by asking a person
    (and not at all under ``never``); the network only under ``danger-full-access`` (the
    sandbox keeps it off otherwise)."""
    oversight = APPROVAL_OVERSIGHT.get(policy, "person")
    held = {"shell": oversight}
    if sandbox in ("workspace-write", "danger-full-access"):
        held["repo_write"] = oversight
    elif policy != "never":
        held["repo_write"] = "person"  # read-only: each write is an escalation a person approves
    if sandbox == "danger-full-access":
        held["internet"] = oversight
    return held


def _action(decision: str) -> str:
    if decision.startswith("approved"):
        return "approved"
    return {"denied": "rejected", "abort": "intervened"}.get(decision, decision or "unknown")


def _map_log(record: Record, settings: OtlpSettings, memory: SessionMemory, result: MapResult) -> None:
    name = event_name(record) or "codex.unnamed"
    attrs = record.attributes
    conversation = as_str(attrs.get("conversation.id"))
    identity = record_identity(record)
    if conversation is None:
        result.unmapped[f"log:{name[:64]}(no conversation.id)"] += 1
        return
    if name == "codex.conversation_starts":
        policy = (as_str(attrs.get("approval_policy")) or "").lower()
        memory.set(conversation, "approval_policy", policy)
        sandbox = (as_str(attrs.get("sandbox_policy")) or "").lower()
        result.events.extend(
            permission_events(
                record,
                settings,
                client=CLIENT,
                session=conversation,
                grants=grants(policy, sandbox),
                granted_by="policy",
                mode=f"{policy or 'unknown'}/{sandbox or 'unknown'}",
                mode_attribute="approval_policy",
                memory=memory,
            )
        )
        return
    if name == "codex.user_prompt":
        turn = turn_key(CLIENT, conversation, record.time_ns)
        memory.set(conversation, "turn", (record.time_ns, turn))
        result.events.append(turn_fact(record, settings, "prompt", conversation, turn, identity))
        return
    # the prompt the collector saw last, if this record is not older than it (an export that
    # arrives late belongs to an earlier turn: the warehouse places it by time)
    latest = memory.get(conversation, "turn")
    turn = latest[1] if latest is not None and record.time_ns >= latest[0] else None
    model = as_str(attrs.get("model"))
    if name == "codex.api_request":
        duration_ms = as_number(attrs.get("duration_ms"))
        result.events.append(model_call_fact(record, settings, conversation, turn, identity, model, duration_ms))
        return
    if name == "codex.sse_event" and attrs.get("event.kind") == "response.completed" and "input_token_count" in attrs:
        result.events.append(
            spend_event(
                record,
                settings,
                kind="codex.spend",
                identity=identity,
                model=model,
                input_tokens=as_int(attrs.get("input_token_count")),
                output_tokens=as_int(attrs.get("output_token_count")),
                cache_read=as_int(attrs.get("cached_token_count")) or 0,
                input_includes_cache=True,
                fields={"input_tokens": "input_token_count", "output_tokens": "output_token_count", "model": "model"},
            )
        )
    elif name == "codex.tool_decision":
        source = (as_str(attrs.get("source")) or "").lower()
        policy = memory.get(conversation, "approval_policy")
        oversight = "person" if source == "user" else "never_asked" if policy == "never" else "rule"
        result.events.append(
            review_event(
                record,
                settings,
                task_id=turn or turn_key(CLIENT, "conversation", conversation),
                action=_action((as_str(attrs.get("decision")) or "").lower()),
                oversight=oversight,
                identity=identity,
                kind="codex.review",
                decision_attribute="decision",
            )
        )
    kind = "tool_call" if name == "codex.tool_result" else "activity"
    result.events.append(turn_fact(record, settings, kind, conversation, turn, identity))

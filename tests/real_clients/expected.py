"""What a correct mapping must store for each real-client recording, computed independently.

This module decodes the recorded OTLP bodies with opentelemetry-proto ONLY (no autoscope code), so
the sums it gives are an independent reading of what the client sent. The collector's mapping
(issue 12, next session) is to be tested against `expected(recording)`.

Conventions (named here because the clients differ and the mapping must pick one):
- A **turn** is one user prompt that is not a slash command. Slash commands (Claude Code
  `user_prompt` with `command_name`, Gemini `gemini_cli.slash_command`) are counted apart; the
  model calls made under a slash command's prompt id (e.g. Claude Code's session-title call
  after `/clear`) still count as model calls and spend, but not as a turn. Codex has no prompt
  id: a turn is what follows a `codex.user_prompt` in the same `conversation.id`. `prompts`
  counts every prompt event as sent, including the one Codex's TUI sends to its own helper
  conversation (see the fixtures README); whether that is a task is the mapping's decision.
- **Tokens by kind** are the client's own numbers. `input` is what the client calls input:
  Claude Code's excludes cache reads/writes (Anthropic semantics); Gemini CLI's and Codex's
  include the cached part (`cache_read` is a subset of `input` there). `thoughts` is
  Gemini's thoughts and Codex's reasoning tokens (a subset of output for Codex).
- Spend and tokens come from the per-call EVENTS (`api_request`, `api_response`,
  `response.completed`, GenAI spans); the clients' metrics carry the same numbers again and
  `metric_tokens` lets a test check that they agree (taking both would double count).
- **Decision modes**: `person` (a human answered a prompt: Claude Code `source=user_*`, Gemini
  accept/reject/modify in default mode, Codex `source=User`), `rule` (a standing rule: Claude
  Code `source=config` i.e. `--allowedTools`/accept-edits/default read rules, Gemini
  `auto_accept` or an edit under autoEdit — the mode in force is followed through
  `plan.approval_mode_switch` —, Codex `source=Config` under a policy that can ask),
  `never_asked` (Gemini under yolo, Codex under `approval_policy=never`). Claude Code's
  bypassPermissions is reported as `source=config` and so reads as `rule`: its telemetry
  cannot tell them apart. Each mode maps to {decision: count}.
- A turn's **wall time** is from its prompt record to the last record carrying its prompt id;
  its **model time** is the sum of its model calls' `duration_ms`.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.json_format import Parse
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real_clients"
REQUEST_TYPES: dict[str, type[Message]] = {
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "traces": ExportTraceServiceRequest,
}
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write", "thoughts")


@dataclass(frozen=True)
class Request:
    """One recorded OTLP request: its decoded body and how it was sent."""

    path: Path
    signal: str
    transport: str  # http-protobuf | http-json | grpc
    message: Message


@dataclass(frozen=True)
class Record:
    """One log record, span or metric data point, flattened."""

    kind: str  # log | span | metric
    name: str  # event name, span name or metric name
    time_ns: int
    attrs: dict[str, Any]
    resource: dict[str, Any]
    value: float = 0.0  # metric points: the value (sum / gauge) or histogram sum
    end_ns: int = 0  # spans


@dataclass
class Turn:
    prompt_id: str
    start_ns: int
    last_ns: int
    model_ms: float = 0.0
    model_calls: int = 0

    @property
    def wall_s(self) -> float:
        return (self.last_ns - self.start_ns) / 1e9


@dataclass
class Sums:
    """What the recording sent, in the units a mapping must store."""

    client: str
    prompts: int = 0  # turns: prompts that are not slash commands
    slash_commands: int = 0
    model_calls: int = 0
    failed_model_calls: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    usd: float | None = None  # None: the client does not report cost
    decisions: dict[str, dict[str, int]] = field(default_factory=dict)  # mode -> decision -> n
    lines_added: int | None = None  # None: the client does not report lines
    lines_removed: int | None = None
    commits: int | None = None  # None: the client does not report commits
    #: seconds the person actively drove the agent (Claude Code's active_time.total of type
    #: user); 0 for clients that report no such split
    driving_s: float = 0.0
    turns: list[Turn] = field(default_factory=list)
    metric_tokens: dict[str, int] = field(default_factory=dict)  # the same usage, read from metrics

    def decide(self, mode: str, decision: str) -> None:
        self.decisions.setdefault(mode, {})
        self.decisions[mode][decision] = self.decisions[mode].get(decision, 0) + 1


# ------------------------------------------------------------------------------ decoding
def recordings() -> list[str]:
    """Recording names: the file prefix before -NNNN-<signal>."""
    names = {p.name.rsplit("-", 2)[0] for p in FIXTURES.glob("*-[0-9][0-9][0-9][0-9]-*.headers.json")}
    return sorted(names)


def client_of(recording: str) -> str:
    for client in ("claude-code", "gemini-cli", "codex", "openai-v2"):
        if recording.startswith(client):
            return client
    raise ValueError(f"recording {recording!r}: unknown client")


def load(recording: str) -> list[Request]:
    out = []
    for head in sorted(FIXTURES.glob(f"{recording}-[0-9][0-9][0-9][0-9]-*.headers.json")):
        stem = head.name[: -len(".headers.json")]
        signal = stem.rsplit("-", 1)[1]
        meta = json.loads(head.read_text())
        body_path, body = read_body(FIXTURES / stem)
        message = REQUEST_TYPES[signal]()
        if ".json" in body_path.suffixes:
            Parse(body.decode(), message)  # strict: an unknown field is an error
            transport = "http-json"
        else:
            message.ParseFromString(body)
            transport = "grpc" if meta["transport"] == "grpc" else "http-protobuf"
        out.append(Request(body_path, signal, transport, message))
    if not out:
        raise FileNotFoundError(f"no recording {recording!r} in {FIXTURES}")
    return out


def read_body(stem: Path) -> tuple[Path, bytes]:
    """The request body stored beside `<stem>.headers.json`; large ones are stored gzipped."""
    for suffix in (".pb", ".json", ".pb.gz", ".json.gz"):
        path = stem.with_name(stem.name + suffix)
        if path.exists():
            data = path.read_bytes()
            return path, gzip.decompress(data) if suffix.endswith(".gz") else data
    raise FileNotFoundError(f"no body for {stem}")


def value_of(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which)


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def records(requests: list[Request]) -> Iterator[Record]:
    """Every record in order of arrival. Cumulative metric points are turned into deltas per
    series, so that summing points is right whatever temporality the client chose."""
    last_cumulative: dict[tuple[Any, ...], float] = {}
    for req in requests:
        m = req.message
        if req.signal == "logs":
            for rl in m.resource_logs:
                res = _attrs(rl.resource.attributes)
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        attrs = _attrs(r.attributes)
                        # Codex puts a source-code location in LogRecord.event_name and the
                        # event's name in the `event.name` attribute: the attribute wins.
                        name = str(attrs.get("event.name") or r.event_name)
                        yield Record("log", name, r.time_unix_nano or r.observed_time_unix_nano, attrs, res)
        elif req.signal == "traces":
            for rs in m.resource_spans:
                res = _attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        yield Record(
                            "span",
                            s.name,
                            s.start_time_unix_nano,
                            _attrs(s.attributes),
                            res,
                            end_ns=s.end_time_unix_nano,
                            value=float(s.status.code),
                        )
        else:
            for rm in m.resource_metrics:
                res = _attrs(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        yield from _points(metric, res, last_cumulative)


def _points(metric: Any, res: dict[str, Any], last: dict[tuple[Any, ...], float]) -> Iterator[Record]:
    kind = metric.WhichOneof("data")
    data = getattr(metric, kind)
    cumulative = (
        getattr(data, "aggregation_temporality", 0) == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    for p in data.data_points:
        attrs = _attrs(p.attributes)
        if kind == "histogram":
            value = p.sum
        else:
            value = p.as_double if p.WhichOneof("value") == "as_double" else float(p.as_int)
        if cumulative and kind in ("sum", "histogram"):
            key = (
                metric.name,
                tuple(sorted((k, str(v)) for k, v in attrs.items())),
                p.start_time_unix_nano,
                tuple(sorted((k, str(v)) for k, v in res.items())),
            )
            value, last[key] = value - last.get(key, 0.0), value
        yield Record("metric", metric.name, p.time_unix_nano, attrs, res, value=value)


# ------------------------------------------------------------------------------ per client
def expected(recording: str) -> Sums:
    client = client_of(recording)
    recs = list(records(load(recording)))
    return {"claude-code": _claude, "gemini-cli": _gemini, "codex": _codex, "openai-v2": _openai_v2}[client](recs)


def _turns_by_prompt(recs: list[Record], prompt_event: str, key: str, is_turn: Any) -> dict[str, Turn]:
    turns: dict[str, Turn] = {}
    for r in recs:
        if r.kind == "log" and r.name == prompt_event and is_turn(r):
            pid = str(r.attrs[key])
            turns[pid] = Turn(pid, r.time_ns, r.time_ns)
    for r in recs:
        pid = r.attrs.get(key)
        if r.kind == "log" and pid in turns:
            turns[pid].last_ns = max(turns[pid].last_ns, r.time_ns)
    return turns


def _claude(recs: list[Record]) -> Sums:
    s = Sums("claude-code", usd=0.0, lines_added=0, lines_removed=0, commits=0)
    logs = [r for r in recs if r.kind == "log"]
    prompts = [r for r in logs if r.name == "user_prompt"]
    s.slash_commands = sum(1 for r in prompts if r.attrs.get("command_name"))
    s.prompts = len(prompts) - s.slash_commands
    turns = _turns_by_prompt(recs, "user_prompt", "prompt.id", lambda r: not r.attrs.get("command_name"))
    for r in logs:
        if r.name == "api_request":
            s.model_calls += 1
            s.tokens["input"] += int(r.attrs["input_tokens"])
            s.tokens["output"] += int(r.attrs["output_tokens"])
            s.tokens["cache_read"] += int(r.attrs["cache_read_tokens"])
            s.tokens["cache_write"] += int(r.attrs["cache_creation_tokens"])
            s.usd += float(r.attrs["cost_usd"])
            turn = turns.get(r.attrs.get("prompt.id"))
            if turn:
                turn.model_calls += 1
                turn.model_ms += float(r.attrs["duration_ms"])
        elif r.name == "api_error":
            s.model_calls += 1
            s.failed_model_calls += 1
        elif r.name == "tool_decision":
            source = str(r.attrs.get("source", ""))
            mode = (
                "rule"
                if source == "config"
                else "person"
                if source.startswith("user")
                else "never_asked"
                if source in ("bypass", "bypass_permissions")
                else f"unknown:{source}"
            )
            s.decide(mode, str(r.attrs["decision"]))
    kinds = {"input": "input", "output": "output", "cacheRead": "cache_read", "cacheCreation": "cache_write"}
    metric_tokens: Counter[str] = Counter()
    for r in recs:
        if r.kind != "metric":
            continue
        if r.name == "claude_code.lines_of_code.count":
            if r.attrs["type"] == "added":
                s.lines_added += int(r.value)
            else:
                s.lines_removed += int(r.value)
        elif r.name == "claude_code.commit.count":
            s.commits += int(r.value)
        elif r.name == "claude_code.active_time.total" and r.attrs.get("type") == "user":
            s.driving_s += r.value
        elif r.name == "claude_code.token.usage":
            metric_tokens[kinds[str(r.attrs["type"])]] += int(r.value)
    s.metric_tokens = dict(metric_tokens)
    s.usd = round(s.usd, 9)
    s.turns = [t for t in turns.values() if t.model_calls]
    return s


GEMINI_EDIT_TOOLS = {"write_file", "replace", "edit"}


def _gemini(recs: list[Record]) -> Sums:
    s = Sums("gemini-cli", lines_added=0, lines_removed=0)
    logs = [r for r in recs if r.kind == "log"]
    # The approval mode in force: set at start (`gemini_cli.config`) and changed mid-session by
    # a person's "Allow for this session" on an edit (`plan.approval_mode_switch` → autoEdit),
    # after which edits are logged `auto_accept` or even `accept` though nobody was asked.
    approval = "default"
    s.prompts = sum(1 for r in logs if r.name == "gemini_cli.user_prompt")
    s.slash_commands = sum(1 for r in logs if r.name == "gemini_cli.slash_command")
    turns = _turns_by_prompt(recs, "gemini_cli.user_prompt", "prompt_id", lambda r: True)
    for r in logs:
        if r.name == "gemini_cli.config":
            approval = str(r.attrs.get("approval_mode") or "default")
        elif r.name == "gemini_cli.plan.approval_mode_switch":
            approval = str(r.attrs.get("to_mode") or approval)
        elif r.name == "gemini_cli.api_response":
            s.model_calls += 1
            s.tokens["input"] += int(r.attrs.get("input_token_count") or 0)
            s.tokens["output"] += int(r.attrs.get("output_token_count") or 0)
            s.tokens["cache_read"] += int(r.attrs.get("cached_content_token_count") or 0)
            s.tokens["thoughts"] += int(r.attrs.get("thoughts_token_count") or 0)
            turn = turns.get(r.attrs.get("prompt_id"))
            if turn:
                turn.model_calls += 1
                turn.model_ms += float(r.attrs.get("duration_ms") or 0)
        elif r.name == "gemini_cli.api_error":
            s.model_calls += 1
            s.failed_model_calls += 1
        elif r.name == "gemini_cli.tool_call":
            decision = str(r.attrs.get("decision") or "none")
            tool = str(r.attrs.get("function_name"))
            if decision == "none":
                pass  # tools that need no approval (reads): no decision was taken
            elif approval == "yolo":
                s.decide("never_asked", decision)
            elif decision == "auto_accept" or (approval == "autoEdit" and tool in GEMINI_EDIT_TOOLS):
                s.decide("rule", "accept" if decision == "auto_accept" else decision)
            else:
                s.decide("person", decision)
            meta = r.attrs.get("metadata")
            if meta:
                lines = json.loads(meta)
                s.lines_added += int(lines.get("model_added_lines", 0)) + int(lines.get("user_added_lines", 0))
                s.lines_removed += int(lines.get("model_removed_lines", 0)) + int(lines.get("user_removed_lines", 0))
    kinds = {"input": "input", "output": "output", "cache": "cache_read", "thought": "thoughts", "tool": "tool"}
    metric_tokens: Counter[str] = Counter()
    for r in recs:
        if r.kind == "metric" and r.name == "gemini_cli.token.usage":
            metric_tokens[kinds.get(str(r.attrs["type"]), str(r.attrs["type"]))] += int(r.value)
    s.metric_tokens = dict(metric_tokens)
    s.turns = [t for t in turns.values() if t.model_calls]
    return s


def _codex(recs: list[Record]) -> Sums:
    s = Sums("codex")
    logs = [r for r in recs if r.kind == "log"]
    s.prompts = sum(1 for r in logs if r.name == "codex.user_prompt")
    # One process may run several conversations at once (the TUI starts a helper thread with
    # approval_policy=never next to the person's): turns and policies are per conversation.id.
    policy: dict[str, str] = {}
    current: dict[str, Turn] = {}
    turns: list[Turn] = []
    for r in logs:
        conv = str(r.attrs.get("conversation.id", ""))
        if r.name == "codex.conversation_starts":
            policy[conv] = str(r.attrs.get("approval_policy"))
        elif r.name == "codex.user_prompt":
            current[conv] = Turn(conv, r.time_ns, r.time_ns)
            turns.append(current[conv])
        elif conv in current:
            current[conv].last_ns = max(current[conv].last_ns, r.time_ns)
        # Codex logs each `response.completed` twice: once bare, once with the usage. Only the
        # one with the usage is a model call's record of spend.
        if (
            r.name == "codex.sse_event"
            and r.attrs.get("event.kind") == "response.completed"
            and "input_token_count" in r.attrs
        ):
            s.model_calls += 1
            s.tokens["input"] += int(r.attrs.get("input_token_count") or 0)
            s.tokens["output"] += int(r.attrs.get("output_token_count") or 0)
            s.tokens["cache_read"] += int(r.attrs.get("cached_token_count") or 0)
            s.tokens["thoughts"] += int(r.attrs.get("reasoning_token_count") or 0)
        elif r.name == "codex.api_request" and conv in current:
            current[conv].model_calls += 1
            current[conv].model_ms += float(r.attrs.get("duration_ms") or 0)
        elif r.name == "codex.tool_decision":
            source = str(r.attrs.get("source", "")).lower()  # Codex 0.171 spells it `Config`, `User`
            decision = str(r.attrs.get("decision"))
            mode = (
                "person"
                if source == "user"
                else "never_asked"
                if policy.get(conv) == "never"
                else "rule"
                if source == "config"
                else f"unknown:{source}"
            )
            s.decide(mode, decision)
    kinds = {
        "input": "input",
        "output": "output",
        "cached_input": "cache_read",
        "cache_write_input": "cache_write",
        "reasoning_output": "thoughts",
        "total": "total",
    }
    metric_tokens: Counter[str] = Counter()
    for r in recs:
        if r.kind == "metric" and r.name == "codex.turn.token_usage":  # a histogram: its sum
            metric_tokens[kinds.get(str(r.attrs["token_type"]), str(r.attrs["token_type"]))] += int(r.value)
    s.metric_tokens = dict(metric_tokens)
    s.turns = [t for t in turns if t.model_calls]
    return s


def _openai_v2(recs: list[Record]) -> Sums:
    s = Sums("openai-v2")
    for r in recs:
        if r.kind == "span" and r.attrs.get("gen_ai.operation.name") == "chat":
            s.model_calls += 1
            if r.attrs.get("error.type"):
                s.failed_model_calls += 1
            s.tokens["input"] += int(r.attrs.get("gen_ai.usage.input_tokens") or 0)
            s.tokens["output"] += int(r.attrs.get("gen_ai.usage.output_tokens") or 0)
    metric_tokens: Counter[str] = Counter()
    for r in recs:
        if r.kind == "metric" and r.name == "gen_ai.client.token.usage":
            metric_tokens[str(r.attrs["gen_ai.token.type"])] += int(r.value)
    s.metric_tokens = dict(metric_tokens)
    return s


def names_sent(recording: str) -> dict[str, int]:
    """Records by name (`log:<event>`, `metric:<name>`, `span:<name>`) — the README table."""
    counts: Counter[str] = Counter()
    for r in records(load(recording)):
        counts[f"{r.kind}:{r.name}"] += 1
    return dict(sorted(counts.items()))


def summary(recording: str) -> dict[str, Any]:
    s = expected(recording)
    return {
        "recording": recording,
        "prompts": s.prompts,
        "slash_commands": s.slash_commands,
        "model_calls": s.model_calls,
        "failed_model_calls": s.failed_model_calls,
        "tokens": s.tokens,
        "usd": s.usd,
        "decisions": s.decisions,
        "lines": [s.lines_added, s.lines_removed],
        "commits": s.commits,
        "metric_tokens": s.metric_tokens,
        "turns": [
            {"wall_s": round(t.wall_s, 3), "model_s": round(t.model_ms / 1000, 3), "model_calls": t.model_calls}
            for t in s.turns
        ],
    }


# The records a mapping reads, per client: shown by name in the README's table.
KEY_NAMES = {
    "claude-code": (
        "log:user_prompt",
        "log:api_request",
        "log:api_error",
        "log:tool_decision",
        "log:tool_result",
        "metric:claude_code.lines_of_code.count",
        "metric:claude_code.commit.count",
    ),
    "gemini-cli": (
        "log:gemini_cli.user_prompt",
        "log:gemini_cli.slash_command",
        "log:gemini_cli.api_response",
        "log:gemini_cli.api_error",
        "log:gemini_cli.tool_call",
        "log:gemini_cli.plan.approval_mode_switch",
        "log:gen_ai.client.inference.operation.details",
    ),
    "codex": (
        "log:codex.user_prompt",
        "log:codex.api_request",
        "log:codex.sse_event",
        "log:codex.tool_decision",
        "log:codex.tool_result",
    ),
    "openai-v2": ("span:chat", "metric:gen_ai.client.token.usage", "metric:gen_ai.client.operation.duration"),
}


def table_row(recording: str) -> str:
    """One markdown row of the fixtures README's sent-by-client table."""
    s = expected(recording)
    names = names_sent(recording)
    kinds = Counter(key.split(":", 1)[0] for key, n in names.items() for _ in range(n))
    # A key is a name or its start ("span:chat" covers "chat gpt-4o-mini").
    key_names = ", ".join(
        f"{n.split(':', 1)[1]} {names[n]}"
        for k in KEY_NAMES[s.client]
        for n in names
        if n == k or n.startswith(k + " ")
    )
    t = s.tokens
    tokens = f"{t['input']}/{t['output']}/{t['cache_read']}/{t['cache_write']}/{t['thoughts']}"
    decisions = (
        "; ".join(
            f"{mode}: " + ", ".join(f"{d} {n}" for d, n in sorted(ds.items()))
            for mode, ds in sorted(s.decisions.items())
        )
        or "—"
    )
    lines = "—" if s.lines_added is None else f"+{s.lines_added} −{s.lines_removed}"
    usd = "—" if s.usd is None else f"{s.usd:.3f}"
    commits = "—" if s.commits is None else str(s.commits)
    requests = len(load(recording))
    totals = f"{kinds.get('log', 0)} logs, {kinds.get('metric', 0)} points, {kinds.get('span', 0)} spans"
    return (
        f"| `{recording}` | {requests} ({totals}) | {key_names} | {s.prompts} / {s.slash_commands} | "
        f"{s.model_calls} ({s.failed_model_calls} failed) | {tokens} | {usd} | {decisions} | {lines} | {commits} |"
    )


TABLE_HEAD = (
    "| recording | requests (records) | records a mapping reads, by name | turns / slash | model calls "
    "| tokens in/out/cache read/cache write/thoughts | USD | decisions by mode | lines | commits |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--table"]:
        print(TABLE_HEAD)
        for name in recordings():
            print(table_row(name))
    else:
        for name in sys.argv[1:] or recordings():
            print(json.dumps(summary(name)))

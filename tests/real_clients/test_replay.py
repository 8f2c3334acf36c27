"""Every recording of Claude Code, Gemini CLI and Codex CLI, replayed over its own transport
(http/protobuf, http/json, gRPC) with its recorded headers into a real collector, the embedded
broker and a DuckDB warehouse: what is stored must equal what ``expected.py`` (an independent
decoder) says was sent — no less, no more: prompts → tasks, slash commands, tokens by kind,
USD, decisions by oversight mode, lines, commits, and each turn's wall and model time.

The collector runs with its default settings: Codex names nobody in API-key mode, so its
events are kept as the team's ``unidentified`` actor (docs/otlp-mapping.md, Identity).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from autoscope.collector.mapping.prices import DEFAULT_PRICES
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from tests.real_clients import expected as sent
from tests.real_clients.collector_replay import replay

pytestmark = pytest.mark.integration

RECORDINGS = [r for r in sent.recordings() if sent.client_of(r) in ("claude-code", "gemini-cli", "codex")]
#: the clients' decision words → the review action they are stored as
ACTIONS = {
    "accept": "approved",
    "reject": "rejected",
    "modify": "modified",
    "approved": "approved",
    "denied": "rejected",
    "abort": "intervened",
}
SETTINGS = OtlpSettings()


def list_price_usd(recording: str) -> tuple[float, int]:
    """USD of the recording's model calls at the shipped list prices, read from the decoded
    records (input includes the cached part, which is billed at the cache-read price), and how
    many calls had a price."""
    usd, priced = 0.0, 0
    for r in sent.records(sent.load(recording)):
        if r.name == "gemini_cli.api_response":
            tokens = (
                r.attrs["input_token_count"],
                r.attrs["output_token_count"],
                r.attrs["cached_content_token_count"],
            )
        elif r.name == "codex.sse_event" and "input_token_count" in r.attrs:
            tokens = (r.attrs["input_token_count"], r.attrs["output_token_count"], r.attrs["cached_token_count"])
        else:
            continue
        model = str(r.attrs["model"])
        names = [name for name in DEFAULT_PRICES if model.startswith(name)]
        if not names:
            continue
        price = DEFAULT_PRICES[max(names, key=len)]
        inputs, outputs, cached = (int(t) for t in tokens)
        usd += ((inputs - cached) * price.input + cached * price.cache_read + outputs * price.output) / 1e6
        priced += 1
    return usd, priced


def settled(service: Service) -> None:
    """Wait until what the collector accepted is in the warehouse (the count stops moving)."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cursor = service.cursor()
        n = cursor.execute("SELECT count(*) FROM event_ids").fetchall()[0][0]
        cursor.close()
        if n != last:
            last, since = n, time.monotonic()
        elif n and time.monotonic() - since > 2.0:
            return
        time.sleep(0.2)
    raise AssertionError("the warehouse did not settle")


def stored(service: Service) -> dict[str, Any]:
    cursor = service.cursor()

    def q(sql: str) -> list[tuple]:
        return cursor.execute(sql).fetchall()

    try:
        tokens = dict(
            zip(
                ("input", "output", "cache_read", "cache_write"),
                q(
                    "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),"
                    " coalesce(sum(cache_read_tokens), 0), coalesce(sum(cache_write_tokens), 0) FROM spend"
                )[0],
            )
        )
        decisions: dict[str, dict[str, int]] = {}
        for mode, action, n in q("SELECT oversight, action, count(*) FROM reviews GROUP BY ALL"):
            decisions.setdefault(mode, {})[action] = n
        turns = q(
            "SELECT t.duration_s, a.model_s, a.model_calls FROM tasks t JOIN agent_turns a ON t.task_id = a.turn_id"
            " WHERE t.event_id LIKE 'turn:%' ORDER BY a.started_at"
        )
        return {
            "prompts": q("SELECT count(*) FROM agent_turn_facts WHERE kind = 'prompt'")[0][0],
            "tasks": q("SELECT count(*) FROM tasks")[0][0],
            "slash_commands": q("SELECT count(*) FROM agent_turns WHERE slash_command")[0][0],
            "model_calls": q("SELECT count(*) FROM spend")[0][0],
            "tokens": tokens,
            "usd": q("SELECT coalesce(sum(amount_usd), 0) FROM spend")[0][0],
            "priced": q("SELECT count(*) FILTER (WHERE priced), count(*) FROM spend")[0],
            "decisions": decisions,
            "lines": list(
                q("SELECT coalesce(sum(lines_added), 0), coalesce(sum(lines_removed), 0) FROM agent_turn_facts")[0]
            ),
            "commits": q("SELECT count(*) FROM contributions")[0][0],
            "driving": q(
                "SELECT coalesce(sum(minutes), 0) FROM time_allocations"
                " WHERE activity = 'directing_ai' AND origin = 'agent_telemetry'"
            )[0][0],
            "time_allocations": q("SELECT count(*) FROM time_allocations")[0][0],
            "turns": turns,
            "reviews_of_tasks": q("SELECT count(*) FROM reviews r JOIN tasks t USING (task_id)")[0][0],
            "reviews": q("SELECT count(*) FROM reviews")[0][0],
            "quarantined": sum(1 for _ in (Path(service.settings.data_dir) / "quarantine").rglob("*") if _.is_file()),
        }
    finally:
        cursor.close()


@pytest.mark.parametrize("recording", RECORDINGS)
def test_replay_stores_what_was_sent(recording: str, kafka: KafkaSettings, tmp_path: Path) -> None:
    want = sent.expected(recording)
    with Service(ServiceSettings(data_dir=tmp_path, port=0, grpc_port=0, kafka=kafka, otlp=SETTINGS)) as service:
        replay(service, recording)
        settled(service)
        got = stored(service)
    print("REPLAY", recording, json.dumps({k: v for k, v in got.items() if k != "turns"}, default=str))
    assert got["quarantined"] == 0
    assert got["prompts"] == want.prompts
    assert got["slash_commands"] == want.slash_commands
    assert got["tasks"] == len(want.turns), "one task per turn that made a model call"
    assert got["model_calls"] == want.model_calls - want.failed_model_calls
    for kind, n in got["tokens"].items():
        assert n == want.tokens[kind], kind
    if want.usd is not None:
        assert got["usd"] == pytest.approx(want.usd, abs=1e-9)
        assert got["priced"][0] == 0, "Claude Code reports its cost: nothing is priced"
    else:
        usd, priced = list_price_usd(recording)
        assert got["priced"] == (priced, got["model_calls"]), "every call of a model with a price is priced"
        assert got["usd"] == pytest.approx(usd, abs=1e-9)
    assert got["decisions"] == {mode: {ACTIONS[d]: n for d, n in ds.items()} for mode, ds in want.decisions.items()}
    assert got["reviews_of_tasks"] == got["reviews"], "every decision reviews a stored task"
    if want.lines_added is not None:
        assert got["lines"] == [want.lines_added, want.lines_removed]
    else:
        assert got["lines"] == [0, 0]
    assert got["commits"] == (want.commits or 0)
    # the person's active time driving the agent, in minutes (the agent's own time is not theirs)
    assert got["driving"] * 60 == pytest.approx(want.driving_s, abs=1e-6)
    assert (got["time_allocations"] > 0) == (want.driving_s > 0)
    for (wall, model_s, calls), turn in zip(got["turns"], want.turns):
        # occurred_at is the client's event.timestamp (milliseconds) where it gives one
        assert wall == pytest.approx(turn.wall_s, abs=0.003)
        assert model_s == pytest.approx(turn.model_ms / 1000, abs=1e-6)
        assert calls == turn.model_calls


def _logs_last_first(heads: Any) -> list[Path]:
    """The log exports in reverse order (metrics in order: a cumulative series read backwards
    is a different series of increments, which is not what this is about)."""
    heads = sorted(heads)
    logs = [h for h in heads if "-logs." in h.name]
    return [h for h in heads if h not in logs] + logs[::-1]


@pytest.mark.parametrize(
    "recording",
    ["claude-code-interactive-http-protobuf", "gemini-cli-interactive-http-json", "codex-interactive-http-protobuf"],
)
def test_exports_in_reverse_order_and_sent_twice_store_the_same_turns(
    recording: str, kafka: KafkaSettings, tmp_path: Path
) -> None:
    """A turn's records arrive over many exports: last export first, then all of it again (an
    exporter's retry), gives the same tasks, durations and sums, once."""
    want = sent.expected(recording)
    with Service(ServiceSettings(data_dir=tmp_path, port=0, grpc_port=0, kafka=kafka, otlp=SETTINGS)) as service:
        replay(service, recording, order=_logs_last_first)
        replay(service, recording)
        settled(service)
        got = stored(service)
    assert got["tasks"] == len(want.turns) and got["prompts"] == want.prompts
    assert got["model_calls"] == want.model_calls and got["tokens"]["input"] == want.tokens["input"]
    assert sum(n for ds in got["decisions"].values() for n in ds.values()) == sum(
        n for ds in want.decisions.values() for n in ds.values()
    )
    for (wall, model_s, calls), turn in zip(got["turns"], want.turns):
        assert wall == pytest.approx(turn.wall_s, abs=0.003)
        assert model_s == pytest.approx(turn.model_ms / 1000, abs=1e-6)
        assert calls == turn.model_calls

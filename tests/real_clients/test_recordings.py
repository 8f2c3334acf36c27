"""The real-client recordings decode, and the independent sums in `expected.py` are what a
by-hand reading of the decoded payloads says.

These tests deliberately do NOT replay anything into autoscope's collector: the mapping of these
clients is issue 12's next step, and it will be tested against `expected.expected(name)`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.real_clients import expected as ex

RECORDINGS = ex.recordings()
TRANSPORTS_SPOKEN = {  # every OTLP transport each client can send, all recorded
    "claude-code": {"http-protobuf", "http-json", "grpc"},
    "gemini-cli": {"http-json", "grpc"},  # its `otlpProtocol=http` sends OTLP/JSON only
    "codex": {"http-protobuf", "http-json", "grpc"},
    "openai-v2": {"http-protobuf", "grpc"},  # the Python SDK has no OTLP/JSON exporter
}


@pytest.mark.parametrize("name", RECORDINGS)
def test_each_recording_decodes_into_records(name: str) -> None:
    requests = ex.load(name)
    records = list(ex.records(requests))
    assert records, f"{name}: no record decoded"
    for req in requests:
        meta = json.loads(req.path.with_name(req.path.name.split(".")[0] + ".headers.json").read_text())
        content_type = {k.lower(): v for k, v in meta["headers"].items()}.get("content-type", "")
        assert ("json" in content_type) == (req.transport == "http-json"), req.path.name
        assert req.transport in name, f"{req.path.name} was sent over {req.transport}"


def test_every_transport_each_client_speaks_is_recorded() -> None:
    recorded: dict[str, set[str]] = {}
    for name in RECORDINGS:
        for req in ex.load(name):
            recorded.setdefault(ex.client_of(name), set()).add(req.transport)
    assert recorded == TRANSPORTS_SPOKEN


def test_claude_code_allowlisted_session_by_hand() -> None:
    # Read from the decoded logs: 4 user_prompt events (one is `/clear`, command_name=clear);
    # 10 api_request events, each input 120, output 30, cache read 800, cache creation 40 and
    # cost_usd 0.002; 4 tool_decision events, all decision=accept source=config (Write, Bash
    # git commit, Read, Edit; the disallowed `rm -rf build` is denied with NO event).
    # Metrics: lines_of_code added 5 + 2, removed 0 + 1; commit.count 1.
    s = ex.expected("claude-code-allowed-http-protobuf")
    assert (s.prompts, s.slash_commands, s.model_calls) == (3, 1, 10)
    assert s.tokens == {"input": 1200, "output": 300, "cache_read": 8000, "cache_write": 400, "thoughts": 0}
    assert s.usd == pytest.approx(0.02)
    assert s.decisions == {"rule": {"accept": 4}}
    assert (s.lines_added, s.lines_removed, s.commits) == (7, 1, 1)


def test_claude_code_turn_duration_runs_from_prompt_to_last_record() -> None:
    # First turn (prompt.id 04881d03…): user_prompt at …095.013 s, last record (api_request and
    # assistant_response) at …095.208 s; its api_request durations are 12 + 10 + 73 + 8 ms.
    # The title call made under the `/clear` prompt is spend, not a turn.
    s = ex.expected("claude-code-allowed-http-protobuf")
    first = s.turns[0]
    assert first.prompt_id.startswith("04881d03")
    assert first.wall_s == pytest.approx(0.195)
    assert first.model_ms == 103
    assert first.model_calls == 4
    assert len(s.turns) == 3


def test_claude_code_interactive_session_by_hand() -> None:
    # 5 user_prompt events, two of them slash commands (/clear, /exit); 8 api_request events of
    # 120/30/800/40 tokens and 0.002 USD; one Write of 5 lines and one commit (the Edit was
    # rejected, so no line was removed). The first turn (82d0c94e…) runs from its prompt at
    # …564.072 s to its last api_request at …566.780 s: the person's answers are inside it.
    s = ex.expected("claude-code-interactive-http-protobuf")
    assert (s.prompts, s.slash_commands, s.model_calls) == (3, 2, 8)
    assert s.tokens == {"input": 960, "output": 240, "cache_read": 6400, "cache_write": 320, "thoughts": 0}
    assert s.usd == pytest.approx(0.016)
    assert (s.lines_added, s.lines_removed, s.commits) == (5, 0, 1)
    first = s.turns[0]
    assert first.prompt_id.startswith("82d0c94e")
    assert first.wall_s == pytest.approx(2.708)
    assert (first.model_ms, first.model_calls) == (21 + 24 + 27 + 57, 4)


def test_claude_code_turn_spans_several_exports() -> None:
    # What a mapping that joins a turn within one export gets wrong: the interactive first
    # turn's records arrive in three log exports (0003: prompt and the first calls; 0005 and
    # 0008: each after a person's answer).
    turn_id = ex.expected("claude-code-interactive-http-protobuf").turns[0].prompt_id
    exports = [
        req.path.name[: -len("-logs.pb")].rsplit("-", 1)[1]
        for req in ex.load("claude-code-interactive-http-protobuf")
        if req.signal == "logs" and any(r.attrs.get("prompt.id") == turn_id for r in ex.records([req]))
    ]
    assert exports == ["0003", "0005", "0008"]


def test_claude_code_sums_are_the_same_over_every_transport() -> None:
    def sums(name: str) -> tuple[object, ...]:
        s = ex.expected(name)
        return s.prompts, s.slash_commands, s.model_calls, s.tokens, s.usd, s.decisions, s.lines_added, s.commits

    assert sums("claude-code-allowed-http-json") == sums("claude-code-allowed-http-protobuf")
    assert sums("claude-code-allowed-grpc") == sums("claude-code-allowed-http-protobuf")


def test_claude_code_modes_of_decision() -> None:
    # Interactive: a person accepted the Write ("Yes", source=user_temporary), accepted the
    # commit with "don't ask again" (user_permanent) and rejected the Edit (Esc, user_reject);
    # the Read before it was allowed by Claude Code's default rules (source=config).
    interactive = ex.expected("claude-code-interactive-http-protobuf")
    assert interactive.decisions == {"person": {"accept": 2, "reject": 1}, "rule": {"accept": 1}}
    # accept-edits: Write, Edit, Read by the mode; git add/commit by --allowedTools; and the
    # `rm -rf build` in the folder is auto-accepted by acceptEdits too: 5 accepts, source=config.
    assert ex.expected("claude-code-acceptedits-http-protobuf").decisions == {"rule": {"accept": 5}}
    # --dangerously-skip-permissions is ALSO reported as source=config: Claude Code's telemetry
    # cannot tell "never asked" from a standing rule (see the fixtures' README).
    assert ex.expected("claude-code-bypass-http-protobuf").decisions == {"rule": {"accept": 5}}


def test_gemini_cli_yolo_by_hand() -> None:
    # 1 gemini_cli.user_prompt; 5 gemini_cli.api_response (the router's call included), each
    # input 900, output 30, cached 600, thoughts 12; 3 gemini_cli.tool_call with decision=accept
    # under approval_mode=yolo; metadata lines: write_file +2, replace +2 −1. No cost, no commits.
    for name in ("gemini-cli-yolo-http-json", "gemini-cli-yolo-grpc"):
        s = ex.expected(name)
        assert (s.prompts, s.model_calls) == (1, 5), name
        assert s.tokens == {"input": 4500, "output": 150, "cache_read": 3000, "cache_write": 0, "thoughts": 60}
        assert s.decisions == {"never_asked": {"accept": 3}}
        assert (s.lines_added, s.lines_removed) == (4, 1)
        assert s.usd is None and s.commits is None


def test_gemini_cli_auto_edit_accepts_edits_by_rule_and_has_no_shell() -> None:
    # approval_mode=autoEdit: write_file and replace accepted by the mode; run_shell_command is
    # not even registered in non-interactive auto_edit (tool_call with decision None, error
    # tool_not_registered), so it is no decision.
    s = ex.expected("gemini-cli-autoedit-http-json")
    assert s.decisions == {"rule": {"accept": 2}}
    assert (s.lines_added, s.lines_removed) == (4, 1)


def test_gemini_cli_interactive_session_by_hand() -> None:
    # approval_mode=default. Turn 1: write_file accept, replace accept (each "Allow once"),
    # run_shell_command reject (Esc). Turn 2: the person picks "Allow for this session" on the
    # write_file, which Gemini logs as plan.approval_mode_switch default→autoEdit and then
    # write_file decision=auto_accept and replace decision=accept (autoEdit: nobody asked);
    # run_shell_command accept (asked). /quit is a gemini_cli.slash_command, not a prompt.
    # 9 api_response of 900/30/600/12; lines: +2, +2 −1, +1 −2, +2 −1.
    s = ex.expected("gemini-cli-interactive-http-json")
    assert (s.prompts, s.slash_commands, s.model_calls) == (2, 1, 9)
    assert s.tokens == {"input": 8100, "output": 270, "cache_read": 5400, "cache_write": 0, "thoughts": 108}
    assert s.decisions == {"person": {"accept": 3, "reject": 1}, "rule": {"accept": 2}}
    assert (s.lines_added, s.lines_removed) == (7, 4)
    assert [t.model_calls for t in s.turns] == [4, 5]


def test_codex_by_hand() -> None:
    # 1 codex.user_prompt; 3 model calls, each logged as a `response.completed` sse_event twice,
    # once with usage: input 700, cached 500, output 25, reasoning 8; 2 codex.tool_decision
    # approved with source=Config under approval_policy=never (codex exec forces never).
    for transport in ("http-protobuf", "http-json", "grpc"):
        s = ex.expected(f"codex-never-{transport}")
        assert (s.prompts, s.model_calls) == (1, 3), transport
        assert s.tokens == {"input": 2100, "output": 75, "cache_read": 1500, "cache_write": 0, "thoughts": 24}
        assert s.decisions == {"never_asked": {"approved": 2}}
        assert s.usd is None and s.lines_added is None and s.commits is None
        assert len(s.turns) == 1 and s.turns[0].model_calls == 3


def test_codex_interactive_session_by_hand() -> None:
    # TUI, approval_policy=on-request, read-only sandbox. Conversation …4121e6 (the person's):
    # codex.user_prompt, one call, the escalated write approved ("y": tool_decision approved
    # source=User), one more call; the commit's prompt answered with Esc emits NO decision.
    # Conversation …c21ba3 (approval_policy=never, started by Codex itself): its own
    # user_prompt and three calls. 5 response.completed with usage of 700/500/25/8.
    s = ex.expected("codex-interactive-http-protobuf")
    assert (s.prompts, s.model_calls) == (2, 5)
    assert s.tokens == {"input": 3500, "output": 125, "cache_read": 2500, "cache_write": 0, "thoughts": 40}
    assert s.decisions == {"person": {"approved": 1}}
    assert [(t.prompt_id[-6:], t.model_calls) for t in s.turns] == [("4121e6", 2), ("c21ba3", 3)]


def test_openai_v2_by_hand() -> None:
    # 4 `chat` spans: input 60, 80, 60 and output 7, 7, 7; the 4th has error.type
    # InternalServerError and no usage.
    for transport in ("http-protobuf", "grpc"):
        s = ex.expected(f"openai-v2-chat-{transport}")
        assert (s.model_calls, s.failed_model_calls) == (4, 1)
        assert (s.tokens["input"], s.tokens["output"]) == (200, 21)
        assert s.prompts == 0 and s.decisions == {}


@pytest.mark.parametrize("name", RECORDINGS)
def test_metrics_carry_the_same_tokens_as_the_events(name: str) -> None:
    # Each client sends its usage twice (per-call events/spans and counters): a mapping must
    # take one. Here both readings agree, kind by kind.
    s = ex.expected(name)
    if name == "codex-interactive-http-protobuf":
        # The turn the person ended with Esc never completed: its two calls (1400 input) are
        # in the events only; codex.turn.token_usage has just the helper conversation's 2100.
        assert (s.tokens["input"], s.metric_tokens["input"]) == (3500, 2100)
        return
    for kind, n in s.metric_tokens.items():
        if kind in s.tokens:
            assert n == s.tokens[kind], f"{name}: {kind} events {s.tokens[kind]} metrics {n}"


def test_readme_table_is_what_the_decoder_says() -> None:
    # The fixtures README's sent-by-client table is generated by `expected.py --table`.
    readme = (ex.FIXTURES / "README.md").read_text()
    for name in RECORDINGS:
        assert ex.table_row(name) in readme, f"README row of {name} is stale: re-run expected.py --table"


def test_recordings_hold_no_machine_paths() -> None:
    # record.py rewrites the throw-away HOME/work dir and the client install prefix.
    for path in ex.FIXTURES.iterdir():
        if path.suffix in (".py", ".md"):
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            import gzip

            data = gzip.decompress(data)
        assert b"/tmp/rc-" not in data and b"/tmp/clients" not in data, path.name


def test_no_test_here_uses_autoscope_code() -> None:
    # The decoder and its own tests are independent of the collector. The tests that replay
    # the recordings into the collector (test_privacy, test_genai_sdk, their collector_replay)
    # use it by design and compare with the decoder.
    for module in (Path(__file__).parent / name for name in ("expected.py", "test_recordings.py", "__init__.py")):
        tree = ast.parse(module.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(
            name.split(".")[0] in ("autoscope", "collector", "warehouse", "pipelines", "agents") for name in imported
        ), module.name

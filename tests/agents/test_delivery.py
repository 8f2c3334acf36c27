"""Delivery: retries, refusals, the bounded queue, the spool, fork and interpreter exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from autoscope import agents

from .conftest import StubCollector, free_port, hook_settings, request_event_ids


def emit_tasks(n: int) -> list[str]:
    ids = [agents.task("analysis", human_minutes=5).finish() for _ in range(n)]
    assert all(ids)
    return [str(i) for i in ids]


@pytest.mark.parametrize("status", [503, 429])
def test_503_retry_after_is_honoured_then_delivered_once(collector: StubCollector, status: int) -> None:
    agents.configure(**hook_settings(collector.url, spool_after_s=30))
    collector.script.append((status, {"Retry-After": "1"}))
    ids = emit_tasks(3)
    assert agents.flush(15)
    assert sorted(collector.accepted_ids()) == sorted(ids)
    first, second = collector.requests[:2]
    assert second["time"] - first["time"] >= 0.9  # waited as told
    assert request_event_ids(first) == request_event_ids(second) == ids  # the same batch again
    stats = agents.stats()
    assert (stats["sent"], stats["retries"], stats["spooled"]) == (3, 1, 0)


TRANSPORTS = ["otlp", "native"]


def spooled_text(tmp_path: Path) -> str:
    """Every event line waiting in the spool (set-aside ones excluded)."""
    return "".join(p.read_text() for p in (tmp_path / "spool").rglob("seg-*.jsonl") if p.parent.name != "refused")


def flush_until(predicate: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        agents.flush(2)
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [401, 403])
def test_unauthorized_events_stay_in_the_spool_until_a_token_is_set(
    collector: StubCollector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    transport: str,
    status: int,
) -> None:
    """Refused for want of a token (401) or for its scope (403): kept, counted, reported with
    the fix, and re-sent once AUTOSCOPE_TOKEN is set in the running process."""
    collector.required_token, collector.refusal_status = "new-token", status
    agents.configure(**hook_settings(collector.url, token=None, transport=transport))
    with caplog.at_level(logging.WARNING, logger="autoscope.agents"):
        ids = emit_tasks(2)
        assert agents.flush(10)
        later = emit_tasks(3)  # while refused: into the spool, a probe now and then
        assert agents.flush(10)
    stats = agents.stats()
    assert (stats["unauthorized"], stats["sent"], stats["rejected"], stats["dropped"]) == (5, 0, 0, 0)
    assert collector.accepted == []
    spooled = spooled_text(tmp_path)
    assert all(event_id in spooled for event_id in ids + later)
    warnings = [r.getMessage() for r in caplog.records if "AUTOSCOPE_TOKEN" in r.getMessage()]
    assert len(warnings) == 1, warnings  # loud, but once, not per batch
    assert "agents.configure(token=...)" in warnings[0] and f"HTTP {status}" in warnings[0]
    assert stats["last_errors"][0]["message"] in warnings[0]

    monkeypatch.setenv("AUTOSCOPE_TOKEN", "new-token")
    assert flush_until(lambda: len(collector.accepted) >= 5)
    assert Counter(collector.accepted_ids()) == Counter(ids + later)  # each exactly once
    assert agents.stats()["sent"] == 5
    assert spooled_text(tmp_path) == ""


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [400, 413])
def test_a_batch_too_large_or_unreadable_is_split_and_resent(
    collector: StubCollector, transport: str, status: int
) -> None:
    agents.configure(**hook_settings(collector.url, transport=transport, schedule_delay_s=30))
    collector.script.append((status, {}))
    ids = emit_tasks(4)
    assert agents.flush(10)
    assert [len(request_event_ids(r)) for r in collector.requests] == [4, 2, 2]
    assert Counter(collector.accepted_ids()) == Counter(ids)
    stats = agents.stats()
    assert (stats["sent"], stats["rejected"], stats["retries"], stats["spooled"]) == (4, 0, 0, 0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_event_refused_on_its_own_is_set_aside_not_dropped(
    collector: StubCollector, tmp_path: Path, transport: str
) -> None:
    agents.configure(**hook_settings(collector.url, transport=transport, schedule_delay_s=30))
    collector.script.extend([(413, {})] * 3)
    ids = emit_tasks(2)
    assert agents.flush(10)
    assert [len(request_event_ids(r)) for r in collector.requests] == [2, 1, 1]
    stats = agents.stats()
    assert (stats["sent"], stats["rejected"], stats["dropped"]) == (0, 2, 0)
    kept = [
        json.loads(line)
        for path in (tmp_path / "spool").rglob("refused/seg-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(k["event"]["event_id"] for k in kept) == sorted(ids)
    assert all(k["answer"].startswith("HTTP 413") for k in kept)
    assert "set aside" in stats["last_errors"][0]["message"]
    assert agents.flush(5) and len(collector.requests) == 3  # not re-sent


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [404, 415])
def test_a_misdirected_batch_is_kept_and_resent_at_the_next_probe(
    collector: StubCollector, tmp_path: Path, transport: str, status: int
) -> None:
    agents.configure(**hook_settings(collector.url, transport=transport))
    collector.script.append((status, {}))
    ids = emit_tasks(2)
    assert agents.flush(10)
    stats = agents.stats()
    assert (stats["misdirected"], stats["sent"], stats["rejected"]) == (2, 0, 0)
    assert "AUTOSCOPE_COLLECTOR_URL" in stats["last_error"] and str(status) in stats["last_error"]
    assert all(event_id in spooled_text(tmp_path) for event_id in ids)
    assert flush_until(lambda: len(collector.accepted) >= 2)  # probed again after ~1 s
    assert Counter(collector.accepted_ids()) == Counter(ids)


def test_a_collector_that_stalls_past_the_timeout_is_retried_then_spooled(
    collector: StubCollector, tmp_path: Path
) -> None:
    agents.configure(**hook_settings(collector.url, export_timeout_s=0.3, spool_after_s=0.5))
    collector.release.clear()  # every request waits: the hooks' socket times out
    ids = emit_tasks(2)
    assert agents.flush(15)
    stats = agents.stats()
    assert (stats["spooled"], stats["sent"], stats["rejected"]) == (2, 0, 0)
    assert stats["retries"] >= 1 and "does not answer" in stats["last_error"]
    collector.release.set()
    assert flush_until(lambda: len(set(collector.accepted_ids())) >= 2)
    assert set(collector.accepted_ids()) == set(ids)  # a timed-out request may have landed too:
    # event_id makes that harmless (the warehouse keeps one)


def test_full_queue_drops_counts_and_returns_fast(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url, max_queue_size=10, max_batch_size=5, spool_after_s=60))
    collector.release.clear()  # the collector stalls: the exporter is stuck in one POST
    emit_tasks(1)
    deadline = time.monotonic() + 5
    while agents.stats()["pending"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    started = time.monotonic()
    results = [agents.task("analysis", human_minutes=5).finish() for _ in range(200)]
    elapsed = time.monotonic() - started
    assert elapsed < 2.0  # generous: 200 calls never wait for the collector
    assert results.count(None) >= 200 - 15
    stats = agents.stats()
    assert stats["dropped"] == results.count(None)
    assert stats["queued"] == 1 + 200 - results.count(None)
    collector.release.set()
    assert agents.flush(10)
    assert len(collector.accepted) == agents.stats()["queued"] == agents.stats()["sent"]


def test_collector_down_spools_then_delivers_each_event_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    agents.configure(**hook_settings(url, spool_after_s=0.3))
    ids = emit_tasks(5)
    assert agents.flush(10)
    stats = agents.stats()
    assert (stats["spooled"], stats["sent"], stats["pending"]) == (5, 0, 0)
    spool = tmp_path / "spool"
    assert len(list(spool.rglob("seg-*.jsonl"))) >= 1
    late = emit_tasks(2)  # while offline these go straight to the spool (or probe)
    assert agents.flush(10)

    collector = StubCollector(port)
    collector.start()
    try:
        deadline = time.monotonic() + 20
        while len(collector.accepted) < 7 and time.monotonic() < deadline:
            agents.flush(2)
            time.sleep(0.1)
        assert Counter(collector.accepted_ids()) == Counter(ids + late)  # each exactly once
        assert agents.stats()["sent"] == 7
        assert list(spool.rglob("seg-*")) == []
    finally:
        collector.stop()


def test_spool_left_by_another_process_is_resent(tmp_path: Path) -> None:
    """A tool exited while the collector was down: a later process delivers its spool."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = textwrap.dedent(f"""
        from autoscope import agents
        agents.configure(collector_url="{url}", team="t", actor="a@b", tool="child",
                         schedule_delay_s=0.05)
        print(agents.task("analysis", human_minutes=5).finish())
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=30, check=True
    )
    event_id = out.stdout.strip()
    segments = list((tmp_path / "spool").rglob("seg-*.jsonl"))
    assert len(segments) == 1 and event_id in segments[0].read_text()  # spooled at exit
    collector = StubCollector(port)
    collector.start()
    try:
        agents.configure(**hook_settings(url))
        assert agents.flush(10)
        assert collector.wait_for(1)
        assert collector.accepted_ids() == [event_id]
        assert list((tmp_path / "spool").rglob("seg-*")) == []
    finally:
        collector.stop()


def test_interpreter_exit_flushes(collector: StubCollector, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from autoscope import agents
        agents.configure(collector_url="{collector.url}", team="t", actor="a@b", tool="child",
                         schedule_delay_s=30)
        print(agents.task("analysis", human_minutes=5).finish())
    """)
    env = {**os.environ, "AUTOSCOPE_SPOOL_DIR": str(tmp_path / "child")}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    assert collector.accepted_ids() == [out.stdout.strip()]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_emits_and_parent_events_are_not_sent_twice(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url, schedule_delay_s=30))
    parent_ids = emit_tasks(3)  # pending in the parent: the batch waits 30 s to fill
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            child_id = agents.task("analysis", human_minutes=7, task_id="from-child").finish()
            ok = agents.flush(10)
            stats = agents.stats()
            code = 0 if child_id and ok and stats["sent"] == 1 and stats["queued"] == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert agents.flush(10)
    ids = Counter(collector.accepted_ids())
    assert set(ids.values()) == {1}  # nothing twice
    child = [e for e in collector.accepted if e["task_id"] == "from-child"]
    assert len(child) == 1
    assert set(ids) == set(parent_ids) | {child[0]["event_id"]}


def _emit_in_worker() -> None:
    agents.task("analysis", human_minutes=3, task_id="from-mp-child").finish()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_multiprocessing_child_flushes_at_exit(collector: StubCollector) -> None:
    import multiprocessing

    agents.configure(**hook_settings(collector.url, schedule_delay_s=30))
    process = multiprocessing.get_context("fork").Process(target=_emit_in_worker)
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert collector.wait_for(1)
    assert [e["task_id"] for e in collector.accepted] == ["from-mp-child"]

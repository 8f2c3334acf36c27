"""Delivery: retries, refusals, the bounded queue, the spool, fork and interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from autoscope import agents

from .conftest import StubCollector, free_port, hook_settings, request_event_ids


def emit_tasks(n: int) -> list[str]:
    ids = [agents.task("analysis", human_minutes=5).finish() for _ in range(n)]
    assert all(ids)
    return [str(i) for i in ids]


def test_503_retry_after_is_honoured_then_delivered_once(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url, spool_after_s=30))
    collector.script.append((503, {"Retry-After": "1"}))
    ids = emit_tasks(3)
    assert agents.flush(15)
    assert sorted(collector.accepted_ids()) == sorted(ids)
    first, second = collector.requests[:2]
    assert second["time"] - first["time"] >= 0.9  # waited as told
    assert request_event_ids(first) == request_event_ids(second) == ids  # the same batch again
    stats = agents.stats()
    assert (stats["sent"], stats["retries"], stats["spooled"]) == (3, 1, 0)


@pytest.mark.parametrize("status", [400, 401, 413, 415])
def test_refused_batches_are_rejected_not_retried(collector: StubCollector, status: int) -> None:
    agents.configure(**hook_settings(collector.url))
    collector.script.append((status, {}))
    emit_tasks(2)
    assert agents.flush(10)
    assert len(collector.requests) == 1
    stats = agents.stats()
    assert (stats["rejected"], stats["sent"], stats["retries"]) == (2, 0, 0)
    assert str(status) in stats["last_error"]


def test_full_queue_drops_counts_and_returns_fast(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url, max_queue_size=10, max_batch_size=5,
                                     spool_after_s=60))
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
    out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True,
                         text=True, timeout=30, check=True)
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
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=30, check=True)
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

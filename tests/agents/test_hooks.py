"""The hooks: every event type satisfies the contract; task outcome rules; garbage never
raises into the caller."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from autoscope import agents
from autoscope.collector.contract import Task, convert_event

from .conftest import StubCollector, hook_settings


def tasks_by_id(collector: StubCollector) -> dict[str, dict[str, object]]:
    return {str(e["task_id"]): e for e in collector.accepted if e["type"] == "task"}


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_every_event_type_arrives_valid(collector: StubCollector, transport: str) -> None:
    agents.configure(**hook_settings(collector.url, transport=transport))
    with agents.task("analysis", human_minutes=30, model="claude-x") as t:
        pass
    ids = [
        t.event_id,
        agents.review(t.task_id, "modified", minutes=4),
        agents.experiment(
            designed_by="ai", accelerator_hours=12, accelerator_type="h100", purpose="ablation", flops=1e20
        ),
        agents.contribution("c1", kind="commit", first_author="ai", ai_share=0.8),
        agents.model_deployment("m1", internal_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
        agents.training_milestone(
            "r2", recipe="llama-like", target_loss=2.1, compute_to_target=1e21, baseline_run_id="r1"
        ),
        agents.impression("q_speedup", score=4, tags=["coding"]),
        agents.spend("ai_tools", amount_usd=12.5, model="claude-x", input_tokens=1000, output_tokens=200),
    ]
    assert all(ids), ids
    assert agents.flush(10)
    assert sorted(collector.accepted_ids()) == sorted(ids)
    events = {e["type"]: e for e in collector.accepted}
    assert len(events) == 8
    for event in events.values():
        convert_event(event)  # the stub validated them already; be explicit
        assert event["schema_version"] == 1
        assert event["source"] == {"tool": "test-tool", "version": "1.0"}
        assert event["team"] == "pretraining" and event["actor"] == "ada@lab.example"
        assert dt.datetime.fromisoformat(str(event["occurred_at"])).utcoffset() is not None
    assert events["review"]["reviewer"] == "ada@lab.example"
    assert events["task"]["family"] == "analysis"
    request = collector.requests[0]
    assert request["path"] == {"otlp": "/v1/logs", "native": "/v1/events"}[transport]
    headers = {k.lower(): v for k, v in request["headers"].items()}  # case-insensitive
    assert headers["authorization"] == "Bearer s3cret"
    assert headers["content-type"] == {"otlp": "application/x-protobuf", "native": "application/json"}[transport]
    stats = agents.stats()
    assert stats["sent"] == 8 and stats["queued"] == 8
    assert stats["rejected"] == stats["dropped"] == stats["errors"] == 0


def test_envelope_overrides_for_backfills(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    fixed = "0190d6a2-7a9b-7c1e-8f00-0123456789ab"
    with agents.task(
        "literature",
        executor="human",
        human_minutes=90,
        duration_s=4500,
        task_id="t-77",
        team="rl",
        actor="bob@lab.example",
        occurred_at=when,
        event_id=fixed,
        tool="backfill",
    ) as t:
        assert t.task_id == "t-77"
    assert agents.flush(10)
    (event,) = collector.accepted
    parsed = convert_event(event)
    assert isinstance(parsed, Task)
    assert event["event_id"] == fixed and event["duration_s"] == 4500
    assert parsed.occurred_at == when
    assert (event["team"], event["actor"], event["source"]["tool"]) == ("rl", "bob@lab.example", "backfill")


def test_outcomes_of_the_context_manager(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    with agents.task("analysis", human_minutes=5) as ok:
        pass
    error = ValueError("boom")
    with pytest.raises(ValueError) as raised:
        with agents.task("analysis", human_minutes=5) as failed:
            raise error
    assert raised.value is error  # the tool's own exception, unchanged
    with pytest.raises(KeyboardInterrupt):
        with agents.task("analysis", human_minutes=5) as interrupted:
            raise KeyboardInterrupt
    with agents.task("analysis", human_minutes=5) as explicit:
        explicit.outcome = "abandoned"
    with agents.task("analysis", human_minutes=5) as failed_quietly:
        failed_quietly.fail()
    with pytest.raises(RuntimeError):
        with agents.task("analysis", human_minutes=5) as given_up:
            given_up.abandon()
            raise RuntimeError("explicit outcome wins")
    assert agents.flush(10)
    got = tasks_by_id(collector)
    assert {
        name: got[h.task_id]["outcome"]
        for name, h in {
            "ok": ok,
            "failed": failed,
            "interrupted": interrupted,
            "explicit": explicit,
            "failed_quietly": failed_quietly,
            "given_up": given_up,
        }.items()
    } == {
        "ok": "success",
        "failed": "failure",
        "interrupted": "abandoned",
        "explicit": "abandoned",
        "failed_quietly": "failure",
        "given_up": "abandoned",
    }
    assert all(float(e["duration_s"]) >= 0 for e in got.values())


def test_decorator_sync_and_async(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))

    @agents.task("experiment_run", human_minutes=60, rung="experiments")
    def run(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    @agents.task("hypothesis", human_minutes=15, rung="ideation")
    async def think(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "idea"

    assert run(2) == 4 and run(3) == 6
    with pytest.raises(ValueError, match="negative"):
        run(-1)
    assert asyncio.run(think(0)) == "idea"

    async def cancelled() -> None:
        job = asyncio.ensure_future(think(10))
        await asyncio.sleep(0.05)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(cancelled())
    assert run.__name__ == "run" and think.__name__ == "think"
    assert agents.flush(10)
    tasks = [e for e in collector.accepted if e["type"] == "task"]
    runs = sorted(e["outcome"] for e in tasks if e["category"] == "experiment_run")
    thoughts = sorted(e["outcome"] for e in tasks if e["category"] == "hypothesis")
    assert runs == ["failure", "success", "success"]
    assert thoughts == ["abandoned", "success"]
    assert len({e["task_id"] for e in tasks}) == 5  # every call is its own task


def test_async_with_and_explicit_start_finish(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))

    async def work() -> str:
        async with agents.task("communication", human_minutes=10) as t:
            await asyncio.sleep(0)
        return t.task_id

    async_id = asyncio.run(work())
    handle = agents.task("analysis", executor="mixed", human_minutes=20)
    handle.start()
    handle.update(model="lab-model-7")
    first = handle.finish(outcome="failure")
    assert first is not None and handle.finish() == first  # reported once
    assert agents.review(handle.task_id, "rejected", minutes=3, reviewer="carol@lab.example")
    assert agents.flush(10)
    got = tasks_by_id(collector)
    assert got[async_id]["outcome"] == "success"
    assert got[handle.task_id]["outcome"] == "failure"
    assert got[handle.task_id]["model"] == "lab-model-7"
    assert [e for e in collector.accepted if e["type"] == "review"][0]["task_id"] == handle.task_id
    assert len(got) == 2


class Unserializable:
    def __str__(self) -> str:
        raise RuntimeError("no str either")


def test_garbage_never_raises_into_the_caller(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    with agents.task("analysis", human_minutes="abc") as t:  # type: ignore[arg-type]
        body_ran = True
    assert body_ran and t.event_id is None
    bad_calls = [
        lambda: agents.task(object(), human_minutes=5).finish(),  # type: ignore[arg-type]
        lambda: agents.task("analysis", human_minutes=5, task_id=Unserializable()).finish(),  # type: ignore[arg-type]
        lambda: agents.task("analysis", executor="robot", human_minutes=5).finish(),
        lambda: agents.review("t1", "approved", minutes=object()),  # type: ignore[arg-type]
        lambda: agents.review(Unserializable(), "approved", minutes=1),  # type: ignore[arg-type]
        lambda: agents.experiment(
            designed_by="ai", accelerator_hours=float("nan"), accelerator_type="h100", purpose="x"
        ),
        lambda: agents.spend("bogus", amount_usd=1),
        lambda: agents.impression("q", score=4, tags=[object()]),  # type: ignore[list-item]
        lambda: agents.contribution(kind="commit", first_author="ai", ai_share=0.5, occurred_at="not a date"),
        lambda: agents.contribution(kind="commit", first_author="ai", ai_share=0.5, color="red"),  # type: ignore[call-arg]
        lambda: agents.model_deployment("m1", internal_at=Unserializable()),  # type: ignore[arg-type]
    ]
    results = [call() for call in bad_calls]  # none of them raises
    # refused: None; except the task whose task_id could not be read: it is reported under
    # a generated id (the error still counted)
    assert [i for i, r in enumerate(results) if r is not None] == [1]
    assert agents.stats()["errors"] == 1 + len(bad_calls)
    assert agents.configure(**hook_settings(collector.url, max_queue_size="abc")) is not None
    outcome = agents.task("analysis", human_minutes=5)
    outcome.outcome = "meh"
    assert outcome.finish() is None
    assert agents.flush(10)
    stats = agents.stats()
    assert stats["errors"] == 1  # the bad outcome, counted since the re-configure
    assert [e["type"] for e in collector.accepted] == ["task"]


def test_collector_rejections_are_counted(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    assert agents.task("analysis", human_minutes=5, task_id="has space").finish()
    assert agents.task("analysis", human_minutes=5, task_id="fine").finish()
    assert agents.flush(10)
    stats = agents.stats()
    assert (stats["sent"], stats["rejected"]) == (1, 1)
    assert "$.task_id" in stats["last_error"]
    assert list(tasks_by_id(collector)) == ["fine"]

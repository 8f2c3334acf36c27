"""Cumulative and delta sums: repeated exports and resets counted once, refusals uncommitted."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.mapping.metrics_state import SumState
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import consume, make_app, metrics_body, point, post_json, sum_metric

S = 1_000_000_000
WHO = {"user.email": "ada@lab.org", "session.id": "s-1"}
RESOURCE = {"service.name": "claude-code", "service.version": "2.0.14"}


def commits(value: float, time_s: int, start_s: int, temporality: int) -> dict:
    return metrics_body(
        [sum_metric("claude_code.commit.count", [point(value, time_s * S, WHO, start_s * S)], temporality)],
        RESOURCE,
    )


@pytest.mark.integration
def test_cumulative_counter_repeated_and_reset_counts_once(tmp_path: Path, kafka: KafkaSettings) -> None:
    exports = [
        (2, 10, 1),  # 2 commits since start
        (2, 10, 1),  # the same export again (a retry): nothing new
        (3, 20, 1),  # +1
        (3, 30, 1),  # no change
        (1, 40, 35),  # restarted (later start time): +1
        (0, 50, 35),  # value below the last with the same start: a reset too, of 0
        (2, 60, 35),  # +2
    ]
    with TestClient(make_app(tmp_path, kafka)) as client:
        for value, time_s, start_s in exports:
            assert post_json(client, "metrics", commits(value, time_s, start_s, 2)).status_code == 200
        otlp = client.get("/healthz").json()["otlp"]
    events = consume(kafka, 6)
    assert len(events) == 6 and all(isinstance(e, contract.Contribution) for e in events)
    assert len({e.event_id for e in events}) == 6
    assert otlp["otlp_counter_resets"] == {"sum": 2}


@pytest.mark.integration
def test_delta_points_each_count(tmp_path: Path, kafka: KafkaSettings) -> None:
    with TestClient(make_app(tmp_path, kafka)) as client:
        for time_s in (10, 20, 30):
            assert post_json(client, "metrics", commits(1, time_s, time_s - 10, 1)).status_code == 200
        # a delta exporter's retry of the last point: same window, same event id
        assert post_json(client, "metrics", commits(1, 30, 20, 1)).status_code == 200
    events = consume(kafka, 4)
    assert len(events) == 4 and len({e.event_id for e in events}) == 3


def test_uncommitted_transaction_leaves_state_for_the_retry() -> None:
    state = SumState()
    first = state.begin()
    assert first.cumulative("k", 1, 10, 5.0).amount == 5.0
    first.commit()
    refused = state.begin()  # e.g. the spool answered 503: never committed
    increment = refused.cumulative("k", 1, 20, 8.0)
    assert (increment.amount, increment.start_ns, increment.end_ns) == (3.0, 10, 20)
    retry = state.begin()
    assert retry.cumulative("k", 1, 20, 8.0) == increment  # the same window: the same event ids
    retry.commit()
    assert state.begin().cumulative("k", 1, 20, 8.0) is None
    restarted = state.begin()
    assert restarted.cumulative("k", 25, 30, 2.0).reset
    restarted.commit()
    assert state.begin().cumulative("k", 1, 40, 9.0) is None  # late point of the old instance
    assert state.resets == 1


@pytest.mark.integration
def test_concurrent_exports_of_one_series_count_each_increment_once(
    tmp_path: Path, kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exports of one cumulative series racing each other (an exporter's retry overtaking its
    next export, several processes of one tool): the counter's total is counted once. Each
    spool write is slowed down, so every export is still in flight when the next one maps."""
    import json
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from tests.collector.otlp.conftest import RunningCollector, free_port

    totals = range(1, 13)  # the counter goes 1, 2, … 12: twelve commits in all
    app = make_app(tmp_path, kafka)
    append = app.state.spool.append

    def slow_append(records: list[bytes]) -> None:
        time.sleep(0.1)
        append(records)

    monkeypatch.setattr(app.state.spool, "append", slow_append)
    with RunningCollector(app, free_port()) as running:
        url = f"http://127.0.0.1:{running.http_port}/v1/metrics"

        def send(total: int) -> int:
            body = json.dumps(commits(total, 10 + total, 1, 2)).encode()
            return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30).status_code

        with ThreadPoolExecutor(len(totals)) as pool:
            assert set(pool.map(send, totals)) == {200}
    events = consume(kafka, 12)
    assert len(events) == 12 and len({e.event_id for e in events}) == 12, len(events)

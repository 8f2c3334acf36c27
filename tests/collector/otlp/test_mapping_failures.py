"""A record whose mapping raises is answered as rejected and counted; the rest of its export
is accepted. A number that is not finite is rejected naming its attribute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.mapping import claude_code, genai_semconv
from autoscope.collector.mapping.mapper import Mapper
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import (
    attrs,
    consume,
    log_record,
    logs_body,
    make_app,
    metrics_body,
    point,
    post_json,
    sum_metric,
)

pytestmark = pytest.mark.integration

S = 1_000_000_000
WHO = {"service.name": "agent", "user.id": "ada", "team": "rl"}


def span(span_id: str, name: str) -> dict[str, Any]:
    return {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(S),
        "endTimeUnixNano": str(9 * S),
        "attributes": attrs({"gen_ai.operation.name": "invoke_agent"}),
    }


def counter(family: str, client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        tuple(s.labels.values())[0] if s.labels else "": s.value
        for f in text_string_to_metric_families(text)
        if f.name == family
        for s in f.samples
        if s.name.endswith("_total")
    }


def test_a_record_whose_mapping_raises_is_rejected_alone(
    client: TestClient, kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = genai_semconv.map_span

    def map_span(record: Any, settings: Any, result: Any) -> None:
        real(record, settings, result)  # maps it, then fails: what it mapped must go too
        if record.name == "invoke_agent boom":
            raise RuntimeError("a bug in the mapping")

    monkeypatch.setattr(genai_semconv, "map_span", map_span)
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(WHO)},
                "scopeSpans": [
                    {
                        "spans": [
                            span("0000000000000001", "invoke_agent ok"),
                            span("0000000000000002", "invoke_agent boom"),
                            span("0000000000000003", "invoke_agent fine"),
                        ]
                    }
                ],
            }
        ]
    }
    response = post_json(client, "traces", body)
    assert response.status_code == 200, response.text
    assert response.json()["partialSuccess"] == {
        "rejectedSpans": "1",
        "errorMessage": "span 1 (invoke_agent boom): could not be mapped (RuntimeError: a bug in the mapping)",
    }
    tasks = consume(kafka, 2)
    assert sorted(t.task_id for t in tasks) == ["0000000000000001", "0000000000000003"]
    assert counter("autoscope_otlp_mapping_failed", client) == {"span:gen_ai": 1}
    assert counter("autoscope_events_dropped", client) == {"mapping_failed": 1, "implausible_count": 0}
    assert client.get("/healthz").json()["otlp"]["otlp_mapping_failed"] == {"span:gen_ai": 1}


def test_a_failed_cumulative_point_is_counted_by_the_next_one(
    tmp_path: Path, kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = claude_code.map_metric_point

    def map_metric_point(record: Any, *args: Any) -> None:
        if record.time_ns == 10 * S:  # the first export's point
            raise KeyError("first")
        real(record, *args)

    monkeypatch.setattr(claude_code, "map_metric_point", map_metric_point)

    def commits(total: float, time_s: int) -> dict[str, Any]:
        return metrics_body(
            [
                sum_metric(
                    "claude_code.commit.count",
                    [point(total, time_s * S, {"user.email": "ada@lab.org"}, start_ns=S)],
                    temporality=2,
                )
            ],
            {"service.name": "claude-code"},
        )

    with TestClient(make_app(tmp_path, kafka)) as client:
        first = post_json(client, "metrics", commits(2, 10))
        assert first.status_code == 200
        assert first.json()["partialSuccess"]["rejectedDataPoints"] == "1"
        assert "could not be mapped (KeyError: 'first')" in first.json()["partialSuccess"]["errorMessage"]
        assert post_json(client, "metrics", commits(5, 20)).json() == {}
    contributions = consume(kafka, 5)
    assert len({c.event_id for c in contributions}) == 5, "the failed point's 2 are in the next increment"


def test_an_export_whose_mapping_raises_outright_rejects_its_records_not_the_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Mapper, request: Any) -> Any:
        raise ValueError("nothing to do with records")

    monkeypatch.setattr(Mapper, "map_logs", broken)
    body = logs_body([log_record(i + 1, {"event.name": "autoscope.task"}) for i in range(3)], WHO)
    response = post_json(client, "logs", body)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedLogRecords"] == "3"
    assert counter("autoscope_otlp_mapping_failed", client) == {"logs:export": 3}


@pytest.mark.parametrize("cost", ["1e999", "nan", "-inf"])
def test_a_number_that_is_not_finite_is_rejected_naming_the_attribute(client: TestClient, cost: str) -> None:
    record = log_record(
        S,
        {
            "user.email": "ada@lab.org",
            "event.name": "api_request",
            "prompt.id": "p",
            "cost_usd": cost,
            "model": "claude-x",
        },
        body="claude_code.api_request",
    )
    response = post_json(client, "logs", logs_body([record], {"service.name": "claude-code"}))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "1"
    value = float(cost)
    assert partial["errorMessage"] == (
        f"log record 0: attribute cost_usd ($.amount_usd): must be a finite number, not {value!r}"
    )


def test_an_infinite_amount_is_rejected_by_the_contract() -> None:
    from tests.event_samples import event

    with pytest.raises(contract.ContractError) as rejected:
        contract.convert_event(event("spend", amount_usd=float("inf")))
    assert (rejected.value.field, rejected.value.reason) == ("$.amount_usd", "must be a finite number, not inf")
    with pytest.raises(contract.ContractError) as in_json:
        contract.decode_event(json.dumps(event("spend")).replace("12.5", "1e999"))
    assert in_json.value.field == "$.amount_usd"

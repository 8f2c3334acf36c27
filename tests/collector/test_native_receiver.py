"""POST /v1/events against the real embedded broker: statuses, per-event answers, pseudonyms."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.intake import Limits
from autoscope.core.kafka_settings import KafkaSettings
from tests.event_samples import event

pytestmark = pytest.mark.integration


def new_event(type_: str = "task", **changes: object) -> dict[str, object]:
    return event(type_, event_id=str(uuid.uuid4()), **changes)


@pytest.fixture
def client(kafka: KafkaSettings, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(CollectorSettings(tmp_path, kafka, Limits(max_body_bytes=200_000, max_events=50)))
    with TestClient(app) as test_client:
        yield test_client


def consume_all(kafka: KafkaSettings, expected: int) -> list[contract.Event]:
    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_kwargs()
    )
    events: list[contract.Event] = []
    for message in consumer:
        events.extend(contract.decode_events(message.value))
        if len(events) >= expected:
            break
    consumer.close()
    return events


def post(client: TestClient, body: object, **headers: str) -> object:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/events", content=data, headers={"content-type": "application/json", **headers})


def test_accepted_batch_lands_in_kafka_pseudonymized(client: TestClient, kafka: KafkaSettings) -> None:
    batch = [new_event(t) for t in contract.EVENT_TYPES]
    response = post(client, batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == len(batch) and answer["rejected"] == 0
    assert [r["event_id"] for r in answer["results"]] == [e["event_id"] for e in batch]

    landed = consume_all(kafka, len(batch))
    assert sorted(e.event_id for e in landed) == sorted(e["event_id"] for e in batch)
    key_id = client.app.state.key_id
    for landed_event in landed:
        assert "@" not in landed_event.actor and landed_event.actor.startswith(key_id + ":")
        if isinstance(landed_event, contract.Review):
            assert "@" not in landed_event.reviewer
    # one person, however the address is written, is one pseudonym
    assert len({e.actor for e in landed}) == 1


def test_partly_bad_batch_answers_per_event(client: TestClient, kafka: KafkaSettings) -> None:
    good = new_event()
    missing = {k: v for k, v in new_event().items() if k != "outcome"}
    wrong_type = new_event(human_minutes="lots")
    unknown = new_event(type="meeting")
    response = post(client, [good, missing, wrong_type, unknown])
    assert response.status_code == 207
    results = response.json()["results"]
    assert results[0]["status"] == "accepted"
    assert results[1]["error"] == {"field": "$.outcome", "reason": "required field is missing"}
    assert results[2]["error"]["field"] == "$.human_minutes"
    assert "Expected `float`, got `str`" in results[2]["error"]["reason"]
    assert results[3]["error"]["field"] == "$.type"
    assert "unknown event type" in results[3]["error"]["reason"]
    assert [e.event_id for e in consume_all(kafka, 1)] == [good["event_id"]]


def test_all_rejected_is_400(client: TestClient) -> None:
    response = post(client, [new_event(outcome="great")])
    assert response.status_code == 400
    assert response.json()["results"][0]["error"]["field"] == "$.outcome"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[not json", "invalid JSON"),
        (b"{not json", "must be a JSON array"),
        (b'{"events": []}', "must be a JSON array"),
        (b"[]", "empty"),
    ],
)
def test_malformed_body_is_400_naming_the_problem(client: TestClient, body: bytes, reason: str) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]


def test_oversized_batch_is_413_with_the_limit(client: TestClient) -> None:
    response = post(client, [new_event() for _ in range(51)])
    assert response.status_code == 413
    assert "limit of 50" in response.json()["error"]["reason"]


def test_oversized_body_is_413_with_the_limit(client: TestClient) -> None:
    response = post(client, b"[" + b" " * 200_001 + b"]")
    assert response.status_code == 413
    assert "200000 bytes" in response.json()["error"]["reason"]


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/events", content=b"[]", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "Content-Type"


def test_gzip_body_is_accepted(client: TestClient, kafka: KafkaSettings) -> None:
    batch = [new_event()]
    response = post(client, gzip.compress(json.dumps(batch).encode()), **{"content-encoding": "gzip"})
    assert response.status_code == 200
    assert consume_all(kafka, 1)[0].event_id == batch[0]["event_id"]


@pytest.mark.parametrize("cut", [0.5, 0.98], ids=["mid-stream", "trailer"])
def test_truncated_gzip_body_is_refused_not_half_accepted(client: TestClient, cut: float) -> None:
    whole = gzip.compress(json.dumps([new_event() for _ in range(20)]).encode())
    response = post(client, whole[: int(len(whole) * cut)], **{"content-encoding": "gzip"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "field": "body",
        "reason": "gzip body is truncated: the compressed stream stops before its end; "
        "nothing of it was accepted, send it whole",
    }
    assert client.get("/healthz").json()["accepted"] == 0


def test_multi_member_gzip_body_is_read_whole(client: TestClient, kafka: KafkaSettings) -> None:
    first, second = [new_event()], [new_event()]
    text = json.dumps(first + second).encode()
    half = len(text) // 2
    response = post(client, gzip.compress(text[:half]) + gzip.compress(text[half:]), **{"content-encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2


def test_bytes_after_a_deflate_stream_are_refused(client: TestClient) -> None:
    import zlib

    body = zlib.compress(json.dumps([new_event()]).encode()) + b"junk"
    response = post(client, body, **{"content-encoding": "deflate"})
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "4 bytes follow the end of the deflate stream"


def test_healthz_reports_counts(client: TestClient) -> None:
    post(client, [new_event(), new_event(outcome="meh")])
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["accepted"] == 1
    assert health["rejected_by_field"] == {"$.outcome": 1}
    assert health["kafka_last_error"] is None


def test_healthz_says_why_the_forwarder_last_started_over(client: TestClient) -> None:
    # the forwarder's own failure path, as a Kafka timeout takes it (then it carries on)
    client.app.state.forwarder._start_over(TimeoutError("Kafka did not acknowledge segment 3 in time"))
    health = client.get("/healthz").json()
    assert health["kafka_last_error"] == "TimeoutError: Kafka did not acknowledge segment 3 in time"
    assert health["kafka_errors"] == 1
    assert post(client, [new_event()]).status_code == 200


def test_rejected_events_are_quarantined_scrubbed(client: TestClient, tmp_path: Path) -> None:
    from autoscope.collector.sinks.quarantine import read_quarantine

    bad = new_event(outcome="great", model="Ada Lovelace's notebook")
    post(client, [bad, new_event(human_minutes="x")])
    entries = list(read_quarantine(tmp_path / "quarantine"))
    assert [e["field"] for e in entries] == ["$.outcome", "$.human_minutes"]
    stored = "".join(p.read_text() for p in (tmp_path / "quarantine").glob("*.jsonl"))
    assert "Ada@Lab.org" not in stored and "lab.org" not in stored.lower()
    assert "Lovelace" not in stored, "free text is redacted"
    assert entries[0]["payload"]["event"]["actor"].startswith(client.app.state.key_id + ":")


@pytest.fixture
def secured(kafka: KafkaSettings, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from autoscope.core.tokens import TokenStore

    store = TokenStore(tmp_path / "tokens.json")
    tokens = {
        "ingest": store.create("notebook", ["ingest"])[0],
        "read": store.create("dashboard", ["read"])[0],
        "team": store.create("evals-bot", ["ingest"], team="evals")[0],
    }
    revoked, record = store.create("old", ["ingest"])
    store.revoke(record.token_id)
    tokens["revoked"] = revoked
    app = create_app(CollectorSettings(tmp_path, kafka))
    with TestClient(app) as test_client:
        yield test_client, tokens


@pytest.mark.parametrize(
    ("header", "status", "reason"),
    [
        (None, 401, "bearer token is required"),
        ("Bearer as_wrong", 401, "unknown or revoked"),
        ("revoked", 401, "unknown or revoked"),
        ("read", 403, "lacks the 'ingest' scope"),
    ],
)
def test_auth_refusals(
    secured: tuple[TestClient, dict[str, str]], header: str | None, status: int, reason: str
) -> None:
    client, tokens = secured
    headers = {}
    if header is not None:
        headers["authorization"] = header if header.startswith("Bearer") else f"Bearer {tokens[header]}"
    response = post(client, [new_event()], **headers)
    assert response.status_code == status
    assert reason in response.json()["error"]["reason"]


def test_a_token_created_while_running_is_enforced_at_once(kafka: KafkaSettings, tmp_path: Path) -> None:
    """No token at startup lets requests in; the first token created — by `autoscope token
    create` in another process, while the collector runs — makes every request need one."""
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

    from autoscope.collector.receivers.grpc_settings import GrpcSettings
    from autoscope.core.tokens import TokenStore

    app = create_app(CollectorSettings(tmp_path, kafka, grpc=GrpcSettings(port=0)))
    with TestClient(app) as client:
        assert post(client, [new_event()]).status_code == 200
        token, record = TokenStore(tmp_path / "tokens.json").create("notebook", ["ingest"])

        refused = post(client, [new_event()])
        assert refused.status_code == 401
        assert refused.json()["error"]["reason"] == "a bearer token is required"
        otlp = client.post("/v1/logs", content=b"", headers={"content-type": "application/x-protobuf"})
        assert otlp.status_code == 401
        with grpc.insecure_channel(f"127.0.0.1:{app.state.otlp_grpc.port}") as channel:
            with pytest.raises(grpc.RpcError) as failure:
                logs_service_pb2_grpc.LogsServiceStub(channel).Export(
                    logs_service_pb2.ExportLogsServiceRequest(), timeout=10
                )
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert post(client, [new_event()], authorization=f"Bearer {token}").status_code == 200

        # revoked, and the last one: it is refused at once, and the door does not reopen
        TokenStore(tmp_path / "tokens.json").revoke(record.token_id)
        assert post(client, [new_event()], authorization=f"Bearer {token}").status_code == 401
        assert post(client, [new_event()]).status_code == 401


def test_team_bound_token_sends_only_its_team(secured: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = secured
    auth = {"authorization": f"Bearer {tokens['team']}"}
    response = post(client, [new_event(team="evals"), new_event(team="pretraining")], **auth)
    assert response.status_code == 207
    results = response.json()["results"]
    assert results[0]["status"] == "accepted"
    assert results[1]["error"] == {"field": "$.team", "reason": "this token may only send events of team 'evals'"}
    assert post(client, [new_event()], authorization=f"Bearer {tokens['ingest']}").status_code == 200


def test_metrics_in_prometheus_format(client: TestClient) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    post(client, [new_event(), new_event(outcome="meh")])
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("autoscope_events_accepted_total", ())] == 1
    assert samples[("autoscope_events_rejected_total", (("field", "$.outcome"),))] == 1
    assert ("autoscope_spool_bytes", ()) in samples


def test_per_token_rate_limit_answers_429_with_retry_after(kafka: KafkaSettings, tmp_path: Path) -> None:
    app = create_app(CollectorSettings(tmp_path, kafka, Limits(events_per_s_per_token=10)))
    with TestClient(app) as limited:
        assert post(limited, [new_event() for _ in range(20)]).status_code == 200  # the 2 s burst
        response = post(limited, [new_event() for _ in range(20)])
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 5
        assert "limit of 10 events/s" in response.json()["error"]["reason"]


def test_in_flight_bound_answers_429() -> None:
    from autoscope.collector.receivers.admission import InFlight

    gate = InFlight(2)
    assert gate.enter() is None and gate.enter() is None
    refusal = gate.enter()
    assert refusal is not None and refusal.status == 429 and refusal.retry_after_s == 1
    gate.leave()
    assert gate.enter() is None


def refused_samples(client: TestClient) -> dict[tuple[str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.labels["reason"], s.labels["tool"]): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == "autoscope_requests_refused_total"
    }


def test_refusals_are_counted_by_reason_and_tool(secured: tuple[TestClient, dict[str, str]]) -> None:
    """Without a valid token the tool is the one the User-Agent names (the hooks send
    ``autoscope-agents (tool=T)``); with one, the token's name; /healthz has the same counts."""
    client, tokens = secured
    hooks = {"user-agent": "autoscope-agents (tool=notebook-7)"}
    assert post(client, [new_event()], **hooks).status_code == 401
    assert post(client, [new_event()], **hooks).status_code == 401
    assert post(client, [new_event()], **{"user-agent": "OTel-OTLP-Exporter-Python/1.45.0"}).status_code == 401
    assert post(client, [new_event()]).status_code == 401  # the test client's own User-Agent
    assert post(client, [new_event()], authorization=f"Bearer {tokens['read']}").status_code == 403
    bad = client.post(
        "/v1/events",
        content=b"[]",
        headers={"content-type": "text/plain", "authorization": f"Bearer {tokens['ingest']}"},
    )
    assert bad.status_code == 415
    refused = refused_samples(client)
    assert refused[("unauthorized", "notebook-7")] == 2
    assert refused[("unauthorized", "OTel-OTLP-Exporter-Python")] == 1
    assert refused[("unauthorized", "testclient")] == 1
    assert refused[("forbidden", "dashboard")] == 1  # the token's name
    assert refused[("unsupported_media_type", "notebook")] == 1
    health = client.get("/healthz").json()
    assert health["requests_refused"]["unauthorized"] == 4
    assert health["requests_refused_by_tool"]["unauthorized"]["notebook-7"] == 2


def test_the_tool_label_set_is_bounded(secured: tuple[TestClient, dict[str, str]]) -> None:
    from autoscope.collector.stats import MAX_TOOLS

    client, _ = secured
    for i in range(MAX_TOOLS + 5):
        post(client, [new_event()], **{"user-agent": f"autoscope-agents (tool=t{i}@x y)"})
    refused = refused_samples(client)
    tools = {tool for reason, tool in refused if reason == "unauthorized"}
    assert len(tools) == MAX_TOOLS + 1 and refused[("unauthorized", "other")] == 5
    assert "t0_x_y" in tools  # a label, whatever the sender wrote

"""Fuzzing every decoder and endpoint with malformed input: never a crash, never a 5xx, and
every refusal names the problem.

Two kinds of generator: a seeded mutation fuzzer (bit flips, truncation, splices, hostile
tokens) over valid payloads, for volume, and hypothesis for
structured JSON through the HTTP endpoints: about 240,000 inputs per run in the ``full`` profile
(``--hypothesis-profile=full``), a tenth in the default ``ci`` one (tests/sizes.py).
``AUTOSCOPE_FUZZ_SCALE=10`` runs ten times the full size.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.contract import ContractError
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pipeline import Batch, Refusal
from autoscope.collector.receivers.otlp import SIGNALS, decode
from autoscope.collector.transforms.decode import decode_json_array
from autoscope.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import attrs, log_record, logs_body, metrics_body, point, sum_metric
from tests.event_samples import event
from tests.sizes import scale

# a tenth in the default (ci) profile; AUTOSCOPE_FUZZ_SCALE overrides either
# minutes at full size (test_total_inputs_tried counts across the module: --dist loadfile, in
# pyproject.toml, keeps a module on one xdist worker)
pytestmark = pytest.mark.slow

SCALE = float(os.environ.get("AUTOSCOPE_FUZZ_SCALE", scale(full=1, ci=0.1)))
HOSTILE = [b"null", b"1e999", b'"\\ud800"', b"[" * 200, b"{}" * 50, b"\x00", b"-0", b'"' + b"a" * 5000 + b'"',
           b"true", b"NaN", b'{"type":', b"\xef\xbb\xbf", b"9" * 400]
TOTAL = {"count": 0}


def mutations(seeds: list[bytes], count: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            choice = rng.randrange(6)
            at = rng.randrange(len(data) + 1)
            if choice == 0 and data:  # flip a bit
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
            elif choice == 1:  # truncate
                del data[at:]
            elif choice == 2:  # insert a hostile token
                data[at:at] = rng.choice(HOSTILE)
            elif choice == 3 and data:  # delete a run
                del data[at:at + rng.randint(1, 16)]
            elif choice == 4:  # splice in part of another seed
                other = rng.choice(seeds)
                data[at:at] = other[rng.randrange(len(other) + 1):][:64]
            else:  # replace a byte with a random one
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data)


def run(target: Callable[[bytes], None], inputs: Iterator[bytes]) -> int:
    n = 0
    for data in inputs:
        target(data)
        n += 1
    TOTAL["count"] += n
    return n


def native_seeds() -> list[bytes]:
    return [json.dumps(event(t, event_id=str(uuid.uuid4()))).encode() for t in contract.EVENT_TYPES]


def test_contract_decoder_never_crashes() -> None:
    def target(data: bytes) -> None:
        try:
            contract.decode_event(data)
        except ContractError as exc:
            assert exc.field.startswith("$") and exc.reason

    assert run(target, mutations(native_seeds(), int(100_000 * SCALE), 1)) >= 100_000 * SCALE


def test_native_batch_decoder_never_crashes() -> None:
    seeds = [b"[" + b",".join(native_seeds()[:i + 1]) + b"]" for i in range(8)]
    decode = decode_json_array(max_events=5000)

    def target(data: bytes) -> None:
        batch = decode(Batch(body=data))
        if batch.refusal is not None:
            assert batch.refusal.status in (400, 413) and batch.refusal.reason
            return
        for item in batch.items:
            try:
                contract.decode_event(item.raw)
            except ContractError as exc:
                assert exc.reason

    assert run(target, mutations(seeds, int(60_000 * SCALE), 2)) >= 60_000 * SCALE


def otlp_seeds() -> dict[str, list[bytes]]:
    resource = {"service.name": "claude-code", "user.email": "ada@lab.example", "team": "evals"}
    logs = logs_body([
        log_record(1_760_000_000_000_000_000, {"event.name": "autoscope.task", "autoscope.event_id": str(uuid.uuid4()),
                                               "autoscope.task_id": "t1", "autoscope.human_minutes": 30}),
        log_record(1_760_000_000_000_000_001, {"event.name": "user_prompt", "prompt.id": "p1"}, "claude_code.user_prompt"),
        log_record(1_760_000_000_000_000_002, {"event.name": "api_request", "prompt.id": "p1", "cost_usd": "0.02",
                                               "input_tokens": "100", "model": "claude"}, "claude_code.api_request"),
    ], resource)
    metrics = metrics_body([sum_metric("claude_code.commit.count", [point(2, 1_760_000_000_000_000_000, {})])], resource)
    json_logs, json_metrics = json.dumps(logs).encode(), json.dumps(metrics).encode()
    proto_logs = json_format.ParseDict(json.loads(json_logs), logs_service_pb2.ExportLogsServiceRequest(),
                                       ignore_unknown_fields=True).SerializeToString()
    proto_metrics = json_format.ParseDict(json.loads(json_metrics), metrics_service_pb2.ExportMetricsServiceRequest(),
                                          ignore_unknown_fields=True).SerializeToString()
    return {"logs": [json_logs, proto_logs], "metrics": [json_metrics, proto_metrics]}


@pytest.mark.parametrize("signal", ["logs", "metrics", "traces"])
def test_otlp_decoders_and_mappings_never_crash(signal: str) -> None:
    seeds = otlp_seeds().get(signal) or otlp_seeds()["logs"]
    mapper = Mapper(OtlpSettings())

    def target(data: bytes) -> None:
        for content_type in ("application/x-protobuf", "application/json"):
            message = decode(SIGNALS[signal], data, content_type)
            if isinstance(message, Refusal):
                assert message.status == 400 and message.reason
                continue
            result = getattr(mapper, SIGNALS[signal].map_method)(message)
            for mapped in result.events:
                try:
                    contract.convert_event(mapped.raw)
                except ContractError as exc:
                    assert exc.reason

    assert run(target, mutations(seeds, int(25_000 * SCALE), 3)) >= 25_000 * SCALE


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, broker) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    kafka = broker.settings(topic=f"fuzz-{uuid.uuid4().hex[:8]}")
    app = create_app(CollectorSettings(tmp_path_factory.mktemp("fuzz"), kafka))
    with TestClient(app) as test_client:
        yield test_client


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
event_like = st.fixed_dictionaries({}, optional={k: json_values for k in (
    "event_id", "schema_version", "type", "occurred_at", "source", "actor", "team", "task_id", "executor",
    "human_minutes", "outcome")})


@settings(max_examples=int(1500 * SCALE), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(st.lists(event_like, max_size=5).map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)),
    path=st.sampled_from(["/v1/events", "/v1/logs", "/v1/metrics", "/v1/traces"]),
    content_type=st.sampled_from(["application/json", "application/x-protobuf", "text/plain", ""]),
    encoding=st.sampled_from([None, "gzip", "br"]),
)
def test_endpoints_answer_every_malformed_input_with_its_problem(
    client: TestClient, body: bytes, path: str, content_type: str, encoding: str | None
) -> None:
    headers = {"content-type": content_type}
    if encoding:
        headers["content-encoding"] = encoding
    response = client.post(path, content=body, headers=headers)
    TOTAL["count"] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.content, "a refusal says what is wrong"
        if response.headers.get("content-type", "").startswith("application/json"):
            answer = response.json()
            reasons = [answer.get("error", {}).get("reason"), answer.get("message")]
            reasons += [r["error"]["reason"] for r in answer.get("results", []) if "error" in r]
            assert any(reasons), answer


def test_total_inputs_tried() -> None:
    """Runs last in this module: the count of generated inputs across the tests above."""
    assert TOTAL["count"] >= 200_000 * SCALE, TOTAL
    print(f"\nRELIABILITY fuzzing: {TOTAL['count']} malformed inputs, no crash, no 5xx")

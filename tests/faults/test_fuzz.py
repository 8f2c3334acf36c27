"""Fuzzing every decoder and endpoint with malformed input: never a crash, never a 5xx, and
every refusal names the problem.

Three kinds of generator: a seeded mutation fuzzer (bit flips, truncation, splices, hostile
tokens) over valid payloads, for volume; hypothesis for JSON *values* through the HTTP
endpoints; and the *structure* of a document (nesting, key and element counts, number and
string sizes, duplicate keys, encodings, compression, one format sent as another) — a fixed
corpus (:mod:`tests.faults.structural_inputs`) through the test client, the real server
(``autoscope collect`` on uvicorn, whose log must hold no traceback) and OTLP/gRPC, and
hypothesis combining those traits on every endpoint and content type. About 240,000 inputs
per run in the ``full`` profile (``--hypothesis-profile=full``), a tenth in the default ``ci`` one
(tests/sizes.py); ``AUTOSCOPE_FUZZ_SCALE=10`` runs ten times the full size of every generator.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import socket
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from starlette.testclient import TestClient

from autoscope.broker import free_port
from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.codecs.native_json import decode_json_array
from autoscope.collector.codecs.otlp import SIGNALS, decode
from autoscope.collector.contract import ContractError
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pipeline import Batch, Refusal
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import log_record, logs_body, metrics_body, point, sum_metric
from tests.event_samples import event
from tests.faults import structural_inputs
from tests.faults.processes import CollectorProcess
from tests.faults.structural_inputs import ENDPOINTS
from tests.sizes import scale

# a tenth in the default (ci) profile; AUTOSCOPE_FUZZ_SCALE overrides either
# minutes at full size (test_total_inputs_tried counts across the module: --dist loadfile, in
# pyproject.toml, keeps a module on one xdist worker)
pytestmark = pytest.mark.slow

SCALE = float(os.environ.get("AUTOSCOPE_FUZZ_SCALE", scale(full=1, ci=0.1)))
HOSTILE = [
    b"null",
    b"1e999",
    b'"\\ud800"',
    b"[" * 200,
    b"{}" * 50,
    b"\x00",
    b"-0",
    b'"' + b"a" * 5000 + b'"',
    b"true",
    b"NaN",
    b'{"type":',
    b"\xef\xbb\xbf",
    b"9" * 400,
]
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
                del data[at : at + rng.randint(1, 16)]
            elif choice == 4:  # splice in part of another seed
                other = rng.choice(seeds)
                data[at:at] = other[rng.randrange(len(other) + 1) :][:64]
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
    seeds = [b"[" + b",".join(native_seeds()[: i + 1]) + b"]" for i in range(8)]
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
    logs = logs_body(
        [
            log_record(
                1_760_000_000_000_000_000,
                {
                    "event.name": "autoscope.task",
                    "autoscope.event_id": str(uuid.uuid4()),
                    "autoscope.task_id": "t1",
                    "autoscope.human_minutes": 30,
                },
            ),
            log_record(
                1_760_000_000_000_000_001, {"event.name": "user_prompt", "prompt.id": "p1"}, "claude_code.user_prompt"
            ),
            log_record(
                1_760_000_000_000_000_002,
                {
                    "event.name": "api_request",
                    "prompt.id": "p1",
                    "cost_usd": "0.02",
                    "input_tokens": "100",
                    "model": "claude",
                },
                "claude_code.api_request",
            ),
        ],
        resource,
    )
    metrics = metrics_body(
        [sum_metric("claude_code.commit.count", [point(2, 1_760_000_000_000_000_000, {})])], resource
    )
    json_logs, json_metrics = json.dumps(logs).encode(), json.dumps(metrics).encode()
    proto_logs = json_format.ParseDict(
        json.loads(json_logs), logs_service_pb2.ExportLogsServiceRequest(), ignore_unknown_fields=True
    ).SerializeToString()
    proto_metrics = json_format.ParseDict(
        json.loads(json_metrics), metrics_service_pb2.ExportMetricsServiceRequest(), ignore_unknown_fields=True
    ).SerializeToString()
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
event_like = st.fixed_dictionaries(
    {},
    optional={
        k: json_values
        for k in (
            "event_id",
            "schema_version",
            "type",
            "occurred_at",
            "source",
            "actor",
            "team",
            "task_id",
            "executor",
            "human_minutes",
            "outcome",
        )
    },
)


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


def _names_its_problem(response_content: bytes, content_type: str) -> str:
    """The reason a refusal gives, from a native, OTLP/JSON or OTLP/protobuf answer."""
    if content_type.startswith("application/x-protobuf"):
        return status_pb2.Status.FromString(response_content).message
    answer = json.loads(response_content)
    reasons = [answer.get("error", {}).get("reason"), answer.get("message")]
    reasons += [r["error"]["reason"] for r in answer.get("results", []) if "error" in r]
    return "; ".join(r for r in reasons if r)


@pytest.mark.parametrize("case", structural_inputs.all_cases(), ids=lambda case: case.name)
def test_structural_corpus_through_the_test_client(client: TestClient, case: structural_inputs.Case) -> None:
    """Each malformed structure on each endpoint: the expected 4xx, with its reason."""
    for path in ENDPOINTS:
        response = client.post(path, content=case.body, headers=case.headers)
        TOTAL["count"] += 1
        allowed = structural_inputs.allowed(case, path)
        assert response.status_code < 500, (path, response.text)
        if allowed is not None and (path in ("/v1/events", "/v1/logs") or case.otlp != structural_inputs.BAD):
            assert response.status_code in allowed, (path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert _names_its_problem(response.content, response.headers["content-type"]), (path, response.content)


def _raw_post(port: int, path: str, body: bytes, headers: dict[str, str], chunked: bool = False) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh socket, as written (no client normalizing the headers),
    with a Content-Length or chunked (in 64 KiB chunks)."""
    head = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "connection: close"]
    head.append("transfer-encoding: chunked" if chunked else f"content-length: {len(body)}")
    head += [f"{key}: {value}" for key, value in headers.items()]
    if chunked:
        pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(1 << 16):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_structural_corpus_through_the_real_server_and_grpc(kafka: KafkaSettings, tmp_path: Path) -> None:
    """``autoscope collect`` (uvicorn, grpcio) answers the corpus, over HTTP and gRPC, without
    a 5xx or an INTERNAL/UNKNOWN status, and writes no traceback to its log."""
    port, grpc_port = free_port(), free_port()
    log = tmp_path / "collector.log"
    collector = CollectorProcess(kafka, tmp_path / "data", port, log, grpc_port=grpc_port).start()
    try:
        for case in structural_inputs.all_cases():
            for path, chunked in [*((path, False) for path in ENDPOINTS), ("/v1/events", True), ("/v1/logs", True)]:
                status, body = _raw_post(port, path, case.body, case.headers, chunked)
                TOTAL["count"] += 1
                assert status < 500, (case.name, path, chunked, body[:300])
                if status >= 400:
                    assert body, (case.name, path, chunked)
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        for service in ("logs.v1.LogsService", "trace.v1.TraceService", "metrics.v1.MetricsService"):
            export = channel.unary_unary(
                f"/opentelemetry.proto.collector.{service}/Export", request_serializer=None, response_deserializer=None
            )
            for name, body in structural_inputs.protobuf_bodies().items():
                TOTAL["count"] += 1
                try:
                    export(body, timeout=30)
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, (service, name, exc.code(), exc.details())
                    assert exc.details().startswith("body: not a valid"), (service, name, exc.details())
        channel.close()
    finally:
        collector.stop()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Exception in ASGI" not in text, text[-3000:]


def _nested(depth: int, kinds: str) -> str:
    opening = "".join("[" if kinds[i % len(kinds)] == "[" else '{"k":' for i in range(depth))
    closing = "".join("]" if kinds[i % len(kinds)] == "[" else "}" for i in reversed(range(depth)))
    return opening + "0" + closing


structures = st.one_of(
    st.builds(_nested, st.integers(0, 4_000), st.sampled_from(["[", "{", "[{"])),
    st.builds(
        lambda n, dup: "{" + ",".join(f'"{"k" if dup else f"k{i}"}":{i}' for i in range(n)) + "}",
        st.integers(0, 20_000),
        st.booleans(),
    ),
    st.builds(lambda n: "[" + ",".join(["{}"] * n) + "]", st.integers(0, 6_000)),
    st.builds(
        lambda digits, exp: "[" + "9" * digits + ("e" + str(exp) if exp else "") + "]",
        st.integers(1, 5_000),
        st.sampled_from([0, 999, -999, 308, 309]),
    ),
    st.builds(
        lambda n, ch: '["' + ch * n + '"]', st.integers(0, 200_000), st.sampled_from(["a", "\\ud800", "\\u0000", "é"])
    ),
    st.builds(
        lambda record, depth: (
            '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":'
            + '{"arrayValue":{"values":[' * depth
            + '{"stringValue":"x"}'
            + "]}}" * depth
            + ',"timeUnixNano":'
            + record
            + "}]}]}]}"
        ),
        st.sampled_from(['"1"', "1e999", '"1e999"', "9" * 40, '"NaN"', "-1", "null", "[]"]),
        st.integers(0, 400),
    ),
)


def _encoded(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding, errors="surrogatepass")
    except UnicodeError:
        return text.encode("utf-8", errors="surrogatepass")


def _compressed(body: bytes, how: str) -> tuple[bytes, str | None]:
    if how == "gzip":
        return gzip.compress(body, 1), "gzip"
    if how == "gzip twice, declared once":
        return gzip.compress(gzip.compress(body, 1), 1), "gzip"
    if how == "gzip, gzip":
        return gzip.compress(gzip.compress(body, 1), 1), "gzip, gzip"
    if how == "deflate":
        return zlib.compress(body, 1), "deflate"
    if how == "truncated gzip":
        whole = gzip.compress(body, 1)
        return whole[: max(1, len(whole) // 2)], "gzip"
    if how in ("br", "zstd"):
        return body, how
    return body, None


@settings(max_examples=int(300 * SCALE), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=structures,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"]),
    compression=st.sampled_from(
        ["none", "gzip", "gzip twice, declared once", "gzip, gzip", "deflate", "truncated gzip", "br"]
    ),
    path=st.sampled_from(ENDPOINTS),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-protobuf",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_endpoints_answer_every_malformed_structure(
    client: TestClient, text: str, encoding: str, compression: str, path: str, content_type: str
) -> None:
    """hypothesis over structure × encoding × compression × endpoint × content type."""
    body, content_encoding = _compressed(_encoded(text, encoding), compression)
    headers = {"content-type": content_type}
    if content_encoding:
        headers["content-encoding"] = content_encoding
    response = client.post(path, content=body, headers=headers)
    TOTAL["count"] += 1
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert _names_its_problem(response.content, response.headers["content-type"]), response.content[:300]


def test_total_inputs_tried() -> None:
    """Runs last in this module: the count of generated inputs across the tests above."""
    assert TOTAL["count"] >= 200_000 * SCALE, TOTAL
    print(f"\nRELIABILITY fuzzing: {TOTAL['count']} malformed inputs, no crash, no 5xx")

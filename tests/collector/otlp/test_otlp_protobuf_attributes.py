"""Attributes read from the KeyValue bytes (transforms.otlp_protobuf) are what protobuf reads,
whatever the encoding: the plain shape, and every shape the shortcut must leave to protobuf."""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from autoscope.collector.mapping.attributes import attributes
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pipeline import Refusal
from autoscope.collector.receivers.otlp import SIGNALS, decode
from autoscope.collector.transforms import otlp_protobuf


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, wire: int, payload: bytes) -> bytes:
    head = varint(number << 3 | wire)
    return head + (varint(len(payload)) + payload if wire == 2 else payload)


def random_value(rng: random.Random, depth: int = 0) -> AnyValue:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return AnyValue(string_value=rng.choice(["", "x", "ada@lab.org", "é" * rng.randint(1, 80), "a" * 200]))
    if kind == 1:
        return AnyValue(int_value=rng.choice([0, 1, 127, 128, 2**62, 2**63 - 1, -1, -(2**63), rng.randint(-10**6, 10**6)]))
    if kind == 2:
        return AnyValue(double_value=rng.choice([0.0, -0.0, 1.5, math.inf, -math.inf, math.nan, 1e300]))
    if kind == 3:
        return AnyValue(bool_value=rng.random() < 0.5)
    if kind == 4:
        return AnyValue(bytes_value=bytes(rng.randrange(256) for _ in range(rng.randint(0, 5))))
    if kind == 5:
        return AnyValue()
    if kind == 6:
        return AnyValue(array_value=ArrayValue(values=[random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]))
    if kind == 7:
        return AnyValue(kvlist_value=KeyValueList(values=[random_kv(rng, depth + 1) for _ in range(rng.randint(0, 3))]))
    return AnyValue(string_value_strindex=rng.randint(0, 5))


def random_kv(rng: random.Random, depth: int = 0) -> KeyValue:
    key = rng.choice(["", "k", "team", "autoscope.task_id", "ü", "k" * 130])
    kv = KeyValue(key=key, value=random_value(rng, depth))
    if rng.random() < 0.1:
        kv = KeyValue(key=key)  # no value
    return kv


def odd_encodings(rng: random.Random) -> list[bytes]:
    """KeyValue bytes protobuf would not write, but must read: order, repeats, unknown fields,
    non-minimal varints, two fields of the oneof (the last wins)."""
    key, text = field(1, 2, b"team"), field(1, 2, b"rl")
    return [
        field(2, 2, text) + key,                                          # value before key
        key + field(2, 2, text) + key,                                    # key twice
        key + field(2, 2, text) + field(9, 0, b"\x01"),                   # unknown field in KeyValue
        key + field(2, 2, text + field(9, 0, b"\x01")),                   # unknown field in AnyValue
        key + field(2, 2, text + field(3, 0, b"\x05")),                   # string, then int: int wins
        key + field(2, 2, field(3, 0, b"\x85\x80\x00")),                  # non-minimal varint (5)
        key + field(2, 2, field(3, 0, varint(2**64 - 5))),                # negative int
        key + field(2, 2, field(2, 0, b"\x02")),                          # bool written as 2
        key + field(2, 2, field(2, 0, b"\x81\x00")),                      # bool, non-minimal
        key + field(2, 2, b""),                                           # empty AnyValue
        key + field(2, 2, text) + field(2, 2, field(3, 0, b"\x07")),      # value twice: merged
        field(1, 2, b"k" * rng.randint(120, 140)) + field(2, 2, text),    # key length over 127
        key + field(2, 2, field(1, 2, b"x" * rng.randint(120, 140))),     # string length over 127
        key + field(3, 0, b"\x04") + field(2, 2, text),                   # key_strindex
    ]


def requests(kvs: list[bytes]) -> tuple[Any, Any]:
    record = b"".join(field(6, 2, kv) for kv in kvs)  # LogRecord.attributes
    body = field(1, 2, field(2, 2, field(2, 2, record)))  # resource_logs / scope_logs / log_records
    real = ExportLogsServiceRequest.FromString(body)
    return real.resource_logs[0].scope_logs[0].log_records[0], otlp_protobuf.shadow("logs", body).resource_logs[0].scope_logs[0].log_records[0]


def test_every_encoding_reads_as_protobuf_reads_it() -> None:
    rng = random.Random(8)
    for round_ in range(400):
        kvs = [random_kv(rng).SerializeToString() for _ in range(rng.randint(0, 8))]
        if round_ % 4 == 0:
            kvs += rng.sample(odd_encodings(rng), 3)
        rng.shuffle(kvs)
        for _ in range(2):  # the second time from the cache
            real, shadow = requests(kvs)
            want, got = attributes(real.attributes), otlp_protobuf.attributes(shadow.attributes)
            assert list(got) == list(want)
            assert repr(got) == repr(want), kvs  # repr: nan == nan, -0.0 apart from 0.0
            assert all(type(got[k]) is type(want[k]) for k in want)


def test_lists_and_dicts_are_not_shared_between_records() -> None:
    kv = KeyValue(key="tags", value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="a")]))).SerializeToString()
    _, first = requests([kv])
    _, second = requests([kv])
    a, b = otlp_protobuf.attributes(first.attributes), otlp_protobuf.attributes(second.attributes)
    assert a == b == {"tags": ["a"]} and a["tags"] is not b["tags"]


def test_a_malformed_body_is_refused_by_protobuf_itself() -> None:
    bad_key = field(1, 2, b"\xff\xfe") + field(2, 2, field(1, 2, b"x"))  # not UTF-8
    body = field(1, 2, field(2, 2, field(2, 2, field(6, 2, bad_key))))
    refusal = decode(SIGNALS["logs"], body, "application/x-protobuf")
    assert isinstance(refusal, Refusal) and refusal.status == 400
    assert "not a valid ExportLogsServiceRequest protobuf" in refusal.reason


@pytest.mark.parametrize("signal", ["logs", "traces"])
def test_shadow_and_real_requests_map_alike(signal: str) -> None:
    rng = random.Random(3)
    kvs = [KeyValue(key="event.name", value=AnyValue(string_value="autoscope.impression")),
           KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="invoke_agent")),
           KeyValue(key="user.id", value=AnyValue(string_value="ada")),
           KeyValue(key="autoscope.question_id", value=AnyValue(string_value="q")),
           KeyValue(key="autoscope.score", value=AnyValue(int_value=4))] + [random_kv(rng) for _ in range(4)]
    if signal == "logs":
        request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[
            LogRecord(time_unix_nano=10**18 + i, attributes=kvs, body=AnyValue(string_value="b")) for i in range(5)])])])
    else:
        request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[
            Span(trace_id=b"\x01" * 16, span_id=bytes([i]) * 8, name="invoke_agent a", start_time_unix_nano=1,
                 end_time_unix_nano=10**9, attributes=kvs) for i in range(5)])])])
    shadow = decode(SIGNALS[signal], request.SerializeToString(), "application/x-protobuf")
    assert otlp_protobuf.is_shadow(shadow)
    method = SIGNALS[signal].map_method
    want = getattr(Mapper(OtlpSettings()), method)(request)
    got = getattr(Mapper(OtlpSettings()), method)(shadow)
    assert repr([(e.raw, e.where, e.fields) for e in got.events]) == repr([(e.raw, e.where, e.fields) for e in want.events])
    assert (got.records, got.unmapped, got.failed) == (want.records, want.unmapped, want.failed)


def test_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_protobuf, "_MAX_CACHED", 10)
    kvs = [KeyValue(key=f"k{i}", value=AnyValue(int_value=i)).SerializeToString() for i in range(25)]
    _, shadow = requests(kvs)
    assert otlp_protobuf.attributes(shadow.attributes) == {f"k{i}": i for i in range(25)}
    assert len(otlp_protobuf._cache) <= 10
    assert struct.calcsize("<d") == 8

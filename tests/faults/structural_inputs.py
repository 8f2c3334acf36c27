"""Malformed input of every *structure*, for the collector's endpoints: nesting, key and element
counts, number and string sizes, duplicate keys, encodings, compression tricks, one format sent
as another, and protobuf with wrong wire types, huge length prefixes and deep nesting.

Each case is a body, its headers, and the statuses it may be answered with; ``None`` for a
body that is well-formed enough to be taken (e.g. unknown OTLP fields, which are ignored).
Sizes stay under the 8 MiB body limit unless the case is about that limit.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
ENDPOINTS = ("/v1/events", "/v1/logs", "/v1/traces", "/v1/metrics")


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    headers: dict[str, str]
    #: statuses allowed on /v1/events and on the OTLP endpoints; None: any status below 500
    native: frozenset[int] | None
    otlp: frozenset[int] | None


BAD = frozenset({400})
TOO_BIG = frozenset({413})
MEDIA = frozenset({415})


def _case(
    name: str,
    body: bytes,
    native: frozenset[int] | None = BAD,
    otlp: frozenset[int] | None = BAD,
    content_type: str = JSON,
    **headers: str,
) -> Case:
    return Case(
        name, body, {"content-type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}, native, otlp
    )


def _any_value(depth: int, kind: str) -> str:
    value = '{"stringValue":"x"}'
    for _ in range(depth):
        if kind == "array":
            value = '{"arrayValue":{"values":[' + value + "]}}"
        else:
            value = '{"kvlistValue":{"values":[{"key":"k","value":' + value + "}]}}"
    return value


def _log_request(record: str) -> bytes:
    return ('{"resourceLogs":[{"scopeLogs":[{"logRecords":[' + record + "]}]}]}").encode()


def json_cases() -> list[Case]:
    """Bodies for the JSON endpoints (native and OTLP/JSON)."""
    cases = [
        _case("deep arrays, unclosed (100k '[')", b"[" * 100_000),
        _case("deep objects, unclosed", b'{"a":' * 100_000),
        _case("deep arrays, closed (5k)", b"[" * 5_000 + b"]" * 5_000),
        _case("deep arrays inside an event", b'[{"tags":' + b"[" * 3_000 + b"]" * 3_000 + b"}]"),
        _case("400k keys", ("{" + ",".join(f'"k{i}":1' for i in range(400_000)) + "}").encode(), otlp=None),
        _case("2M elements", b"[" + b",".join([b"0"] * 2_000_000) + b"]", native=TOO_BIG),
        _case("5000-digit integer", b'[{"human_minutes": ' + b"9" * 5_000 + b"}]"),
        _case("integer above 2^64 at the top", str(2**64 + 1).encode()),
        _case("1e999", b'[{"human_minutes": 1e999}]'),
        _case("-1e999 at the top", b"-1e999"),
        _case("7 MB string", b'["' + b"a" * 7_000_000 + b'"]'),
        _case("duplicate keys", b'[{"type":"task","type":"review"}]', otlp=BAD),
        _case("UTF-16 with BOM", '[{"type":"task"}]'.encode("utf-16")),
        _case("UTF-16BE without BOM", '[{"type":"task"}]'.encode("utf-16-be")),
        _case("UTF-16LE without BOM", '[{"type":"task"}]'.encode("utf-16-le")),
        _case("UTF-32 with BOM", '[{"type":"task"}]'.encode("utf-32")),
        _case("UTF-32LE without BOM", '[{"type":"task"}]'.encode("utf-32-le")),
        _case("UTF-8 BOM (dropped, then the body's own fault)", b"\xef\xbb\xbf[{}]"),
        _case("escaped lone surrogate", b'[{"type":"\\ud800"}]'),
        _case("escaped lone surrogate in a key", b'[{"\\udc00":1}]'),
        _case("raw surrogate bytes", b'[{"type":"\xed\xa0\x80"}]'),
        _case("overlong UTF-8", b'[{"type":"\xc0\xaf"}]'),
        _case("NUL in a string", b'[{"type":"ta\x00sk"}]'),
        _case("NUL bytes only", b"\x00" * 64),
        _case("empty body", b""),
        _case("null", b"null"),
        _case("a string", b'"x"'),
        _case("a number", b"1"),
        _case("true", b"true"),
        _case("charset=utf-16", b"[]", native=MEDIA, otlp=MEDIA, content_type=JSON + "; charset=utf-16"),
        _case(
            "gzip bomb (50 MB of spaces)",
            gzip.compress(b"[" + b" " * 50_000_000 + b"]"),
            native=TOO_BIG,
            otlp=TOO_BIG,
            content_encoding="gzip",
        ),
        _case("gzip inside gzip", gzip.compress(gzip.compress(b"[]")), content_encoding="gzip"),
        _case("gzip, undeclared", gzip.compress(b"[]")),
        _case("gzip, truncated", gzip.compress(b'[{"a":1}]' * 50)[:30], content_encoding="gzip"),
        _case("gzip, bytes after it", gzip.compress(b"[]") + b"junk", content_encoding="gzip"),
        _case("gzip declared, plain body", b"[]", content_encoding="gzip"),
        _case("deflate (zlib)", zlib.compress(b"[]"), content_encoding="deflate"),
        _case("deflate (raw)", zlib.compress(b"[]")[2:-4], content_encoding="deflate"),
        _case("deflate, garbage", b"\xff\xfe\xfd", content_encoding="deflate"),
        _case("br", b"\x0b\x00\x80[]\x03", native=MEDIA, otlp=MEDIA, content_encoding="br"),
        _case("zstd", b"\x28\xb5\x2f\xfd\x00", native=MEDIA, otlp=MEDIA, content_encoding="zstd"),
        _case("identity", b"[]", content_encoding="identity"),
        _case("gzip, gzip", gzip.compress(gzip.compress(b"[]")), content_encoding="gzip, gzip"),
        _case("gzip, identity", gzip.compress(b"[]"), content_encoding="gzip, identity"),
        _case("four codings", b"[]", native=MEDIA, otlp=MEDIA, content_encoding="gzip, gzip, gzip, gzip"),
        _case(
            "text/plain with gzip",
            gzip.compress(b"[]"),
            native=MEDIA,
            otlp=MEDIA,
            content_type="text/plain",
            content_encoding="gzip",
        ),
        _case("protobuf sent as JSON", b"\x0a\x02\x0a\x00"),
        _case("JSON sent as protobuf", b'{"resourceLogs":[]}', native=MEDIA, content_type=PROTOBUF),
        _case("OTLP/JSON, deep arrayValue", _log_request('{"body":' + _any_value(60, "array") + "}"), native=BAD),
        _case(
            "OTLP/JSON, deep kvlistValue",
            _log_request('{"attributes":[{"key":"a","value":' + _any_value(60, "kvlist") + "}]}"),
            native=BAD,
        ),
        _case("OTLP/JSON, very deep arrayValue", _log_request('{"body":' + _any_value(3_000, "array") + "}")),
        _case("OTLP/JSON, snake_case and deep", b'{"resource_logs":' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        _case("OTLP/JSON, 5000-digit time", _log_request('{"timeUnixNano":' + "9" * 5_000 + "}")),
        _case(
            "OTLP/JSON, time as a 5000-digit string", _log_request('{"timeUnixNano":"' + "9" * 5_000 + '"}'), otlp=None
        ),
        _case("OTLP/JSON, time 1e999", _log_request('{"timeUnixNano":1e999}')),
        _case("OTLP/JSON, enum 1e999", _log_request('{"severityNumber":1e999}')),
        _case("OTLP/JSON, 300k records", _log_request(",".join(["{}"] * 300_000)), otlp=None),
        _case("OTLP/JSON, duplicate resourceLogs", b'{"resourceLogs":[],"resourceLogs":[{}]}', otlp=None),
        _case(
            "OTLP/JSON, lone surrogate key",
            _log_request('{"attributes":[{"key":"\\ud800","value":{"stringValue":"x"}}]}'),
        ),
    ]
    return cases


def _ld(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _proto_log_body(depth: int) -> bytes:
    """An ExportLogsServiceRequest whose one record's body nests ``depth`` ArrayValues."""
    value = _ld(0x0A, b"x")  # AnyValue.string_value
    for _ in range(depth):
        value = _ld(0x2A, _ld(0x0A, value))  # AnyValue.array_value { ArrayValue.values }
    return _ld(0x0A, _ld(0x12, _ld(0x12, _ld(0x2A, value))))  # resource_logs.scope_logs.log_records.body


def protobuf_bodies() -> dict[str, bytes]:
    """Malformed protobuf bodies, for OTLP/HTTP (application/x-protobuf) and OTLP/gRPC."""
    return {
        "AnyValue nested 60 deep (past protobuf's 100 messages)": _proto_log_body(60),
        "AnyValue nested 5000 deep": _proto_log_body(5_000),
        "length prefix of 2^62": b"\x0a" + _varint(2**62) + b"x",
        "wire type 7": b"\x0f",
        "end-group without a start": b"\x0c",
        "truncated varint": b"\x0a\xff\xff\xff",
        "string with invalid UTF-8": _ld(0x0A, _ld(0x12, _ld(0x12, _ld(0x2A, _ld(0x0A, b"\xff\xfe"))))),
        "JSON": b'{"resourceLogs":[]}',
        "gzip bytes": gzip.compress(b"\x0a\x00"),
    }


def protobuf_cases() -> list[Case]:
    return [
        _case(f"protobuf: {name}", body, native=MEDIA, content_type=PROTOBUF)
        for name, body in protobuf_bodies().items()
    ]


def all_cases() -> list[Case]:
    return json_cases() + protobuf_cases()


def allowed(case: Case, path: str) -> frozenset[int] | None:
    return case.native if path == "/v1/events" else case.otlp

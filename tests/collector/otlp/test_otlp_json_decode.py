"""OTLP/JSON decoded by msgspec (codecs.otlp_json) maps exactly as protobuf's json_format
path did, and refuses what the OTLP/JSON rules refuse, naming the path and the reason."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from autoscope.collector.codecs import otlp_json
from autoscope.collector.codecs.otlp import SIGNALS, _decode_with_json_format, decode
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pipeline import Refusal
from tests.collector.otlp.conftest import attrs, log_record, logs_body

T0 = 1_764_300_000_000_000_000
SEED = int(__import__("os").environ.get("OTLP_JSON_SEED", "0"))  # another seed: another 2,100 exports


def new(signal: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decode(SIGNALS[signal], data, "application/json")


def mapped(signal: str, request: Any) -> dict[str, Any]:
    result = getattr(Mapper(OtlpSettings()), SIGNALS[signal].map_method)(request)
    return {
        "records": result.records,
        "events": [(e.raw, e.origin, e.where, e.fields) for e in result.events],
        "unmapped": dict(result.unmapped),
        "superseded": dict(result.superseded),
        "failed": [(f.origin, f.kind) for f in result.failed],
        "series": sorted(result.series),
    }


def refusal(signal: str, body: Any) -> str:
    answer = new(signal, body)
    assert isinstance(answer, Refusal) and answer.status == 400, answer
    return answer.reason


# -- random documents: the old path (json_format) and the new one agree ---------------------


class Documents:
    """Random OTLP/JSON exports: values in every form the JSON mapping allows, and some it does not."""

    KEYS = [
        "event.name",
        "autoscope.task_id",
        "autoscope.human_minutes",
        "user.email",
        "team",
        "prompt.id",
        "model",
        "cost_usd",
        "input_tokens",
        "gen_ai.operation.name",
        "gen_ai.usage.input_tokens",
        "gen_ai.request.model",
        "service.name",
        "decision",
        "source",
        "gen_ai.token.type",
        "autoscope.score",
        "autoscope.question_id",
        "autoscope.actor",
        "autoscope.occurred_at",
        "autoscope.executor",
    ]
    TEXT = [
        "autoscope.task",
        "autoscope.impression",
        "user_prompt",
        "api_request",
        "tool_decision",
        "chat",
        "invoke_agent",
        "ada@lab.org",
        "x",
        "",
        "accept",
        "config",
        "input",
        "output",
        "claude",
        "q1",
        "2026-01-01T00:00:00Z",
        "12",
        "1.5",
        "ai",
        "1e999",
    ]
    HEX = ["5b8efff798038103d269b633813fc60c", "051581bf3cb55c13", "", "ABCDEF0123456789", "xyz", 5]

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, *options: Any) -> Any:
        return self.rng.choice(options)

    def int64(self) -> Any:
        v = self.pick(0, 1, 100, 2**40, -3, 2**63 - 1, 2**63, 10**20)
        return self.pick(v, str(v), f"{v}e0", " 5", "x", 1.5, True, None, "1e2", 1e2)

    def u64(self) -> Any:
        v = self.pick(0, 1, T0, 2**64 - 1, 2**64, -1)
        return self.pick(v, str(v), str(v), None, "soon", 1.0, "1e3")

    def double(self) -> Any:
        return self.pick(0.5, 1, "2.5", "NaN", "Infinity", "-Infinity", "inf", 12, "x", None, "1e3")

    def value(self, depth: int = 0) -> dict[str, Any]:
        k = self.rng.random()
        if k < 0.45:
            v: dict[str, Any] = {"stringValue": self.pick(*self.TEXT)}
        elif k < 0.6:
            v = {"intValue": self.int64()}
        elif k < 0.7:
            v = {"doubleValue": self.double()}
        elif k < 0.77:
            v = {"boolValue": self.pick(True, False, "true", None)}
        elif k < 0.82:
            v = {"bytesValue": self.pick("AAE=", "AAE", "_-8", "+/8=", "!!", "", 5)}
        elif k < 0.87 and depth < 2:
            v = {"arrayValue": {"values": [self.value(depth + 1) for _ in range(self.rng.randint(0, 3))]}}
        elif k < 0.92 and depth < 2:
            v = {"kvlistValue": {"values": [self.key_value(depth + 1) for _ in range(self.rng.randint(0, 3))]}}
        elif k < 0.95:
            v = {}
        elif k < 0.97:
            v = {"stringValue": "a", "intValue": "1"}
        else:
            v = {"stringValue": None, "intValue": self.int64()}
        if self.rng.random() < 0.02:
            v["newField"] = 1
        return v

    def key_value(self, depth: int = 0) -> dict[str, Any]:
        kv = {"key": self.pick(*self.KEYS), "value": self.value(depth)}
        if self.rng.random() < 0.03:
            kv[self.pick("key", "value")] = None
        return kv

    def attributes(self) -> list[dict[str, Any]]:
        return [self.key_value() for _ in range(self.rng.randint(0, 6))]

    def thin(self, d: dict[str, Any]) -> dict[str, Any]:
        for k in list(d):
            if self.rng.random() < 0.03:
                d[k] = None
            elif self.rng.random() < 0.02:
                del d[k]
        if self.rng.random() < 0.02:
            d["unknownThing"] = {"a": [1]}
        return d

    def resource(self) -> dict[str, Any]:
        return self.thin({"attributes": self.attributes(), "droppedAttributesCount": self.pick(0, "2", -1)})

    def scope(self) -> dict[str, Any]:
        return self.thin(
            {"name": self.pick("test", "com.anthropic.claude_code.events", ""), "attributes": self.attributes()}
        )

    def log(self) -> dict[str, Any]:
        return self.thin(
            {
                "timeUnixNano": self.u64(),
                "observedTimeUnixNano": self.u64(),
                "severityNumber": self.pick(9, "SEVERITY_NUMBER_INFO", "BOGUS", "3", 9.0, True),
                "body": self.pick(self.value(), {}, None),
                "attributes": self.attributes(),
                "eventName": self.pick("", "autoscope.task", "user_prompt", None),
                "flags": self.pick(0, "1", -1, 2**32),
                "traceId": self.pick(*self.HEX),
                "spanId": self.pick(*self.HEX),
            }
        )

    def span(self) -> dict[str, Any]:
        return self.thin(
            {
                "traceId": self.pick(*self.HEX),
                "spanId": self.pick(*self.HEX),
                "parentSpanId": self.pick(*self.HEX),
                "name": self.pick("invoke_agent x", "chat m", "GET /", ""),
                "kind": self.pick(1, "SPAN_KIND_CLIENT", "nope"),
                "startTimeUnixNano": self.u64(),
                "endTimeUnixNano": self.u64(),
                "attributes": self.attributes(),
                "status": self.pick({"code": self.pick(0, 2, "STATUS_CODE_ERROR", "x")}, {}, None),
                "events": [self.thin({"timeUnixNano": self.u64(), "attributes": self.attributes()})]
                if self.rng.random() < 0.2
                else [],
                "links": [self.thin({"traceId": self.pick(*self.HEX), "attributes": self.attributes()})]
                if self.rng.random() < 0.2
                else [],
            }
        )

    def point(self, histogram: bool = False) -> dict[str, Any]:
        p: dict[str, Any] = {
            "attributes": self.attributes(),
            "startTimeUnixNano": self.u64(),
            "timeUnixNano": self.u64(),
        }
        if histogram:
            p.update(
                count=self.u64(), sum=self.double(), bucketCounts=[self.u64() for _ in range(self.rng.randint(0, 2))]
            )
        else:
            r = self.rng.random()
            if r < 0.45:
                p["asDouble"] = self.double()
            elif r < 0.9:
                p["asInt"] = self.int64()
            elif r < 0.95:
                p.update(asDouble=1.0, asInt="1")
        if self.rng.random() < 0.1:
            p["exemplars"] = [
                self.thin({"timeUnixNano": self.u64(), "asDouble": 1.0, "filteredAttributes": self.attributes()})
            ]
        return self.thin(p)

    def metric(self) -> dict[str, Any]:
        m: dict[str, Any] = {
            "name": self.pick(
                "claude_code.commit.count",
                "claude_code.cost.usage",
                "gen_ai.client.token.usage",
                "claude_code.session.count",
                "other",
            )
        }
        temporality = self.pick(1, 2, "AGGREGATION_TEMPORALITY_CUMULATIVE", 0, "x")
        k = self.rng.random()
        if k < 0.5:
            m["sum"] = self.thin(
                {
                    "dataPoints": [self.point() for _ in range(self.rng.randint(0, 3))],
                    "aggregationTemporality": temporality,
                    "isMonotonic": self.pick(True, False, "true", None),
                }
            )
        elif k < 0.7:
            m["histogram"] = self.thin(
                {
                    "dataPoints": [self.point(True) for _ in range(self.rng.randint(0, 3))],
                    "aggregationTemporality": temporality,
                }
            )
        elif k < 0.8:
            m["gauge"] = {"dataPoints": [self.point()]}
        elif k < 0.85:
            m["summary"] = {
                "dataPoints": [self.thin({"count": self.u64(), "sum": self.double(), "timeUnixNano": self.u64()})]
            }
        elif k < 0.9:
            m.update(sum={"dataPoints": []}, gauge={"dataPoints": []})
        return self.thin(m)

    def export(self, signal: str) -> dict[str, Any]:
        n = self.rng.randint
        if signal == "logs":
            return {
                "resourceLogs": [
                    self.thin(
                        {
                            "resource": self.resource(),
                            "scopeLogs": [
                                self.thin({"scope": self.scope(), "logRecords": [self.log() for _ in range(n(0, 5))]})
                                for _ in range(n(0, 2))
                            ],
                        }
                    )
                    for _ in range(n(0, 2))
                ]
            }
        if signal == "traces":
            return {
                "resourceSpans": [
                    self.thin(
                        {
                            "resource": self.resource(),
                            "scopeSpans": [
                                self.thin({"scope": self.scope(), "spans": [self.span() for _ in range(n(0, 5))]})
                                for _ in range(n(0, 2))
                            ],
                        }
                    )
                    for _ in range(n(0, 2))
                ]
            }
        return {
            "resourceMetrics": [
                self.thin(
                    {
                        "resource": self.resource(),
                        "scopeMetrics": [
                            self.thin({"scope": self.scope(), "metrics": [self.metric() for _ in range(n(0, 4))]})
                            for _ in range(n(0, 2))
                        ],
                    }
                )
                for _ in range(n(0, 2))
            ]
        }


# Where the two paths part, on purpose: json_format takes ``true`` as the double 1.0 or as an
# enum's 1, and Python spellings of integers (" 5" aside: "1_0", "5.0"); it refuses the float
# "nan" (lowercase), which msgspec reads as NaN.
DELIBERATE = (
    "doubleValue",
    "intValue",
    "asInt",
    "asDouble",
    'Couldn\'t parse float "nan"',
    "enum number or name, got bool",
)


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_random_exports_map_as_json_format_mapped_them(signal: str) -> None:
    documents = Documents(seed={"logs": 1, "traces": 2, "metrics": 3}[signal] + SEED)
    agreed = mapped_count = 0
    for _ in range(700):
        data = json.dumps(documents.export(signal)).encode()
        old = _decode_with_json_format(SIGNALS[signal], data)
        now = decode(SIGNALS[signal], data, "application/json")
        if isinstance(old, Refusal) or isinstance(now, Refusal):
            if isinstance(old, Refusal) != isinstance(now, Refusal):
                differs = now.reason if isinstance(now, Refusal) else old.reason
                assert any(word in differs for word in DELIBERATE), differs
            else:
                agreed += 1
            continue
        assert mapped(signal, now) == mapped(signal, old), data
        mapped_count += 1
    assert mapped_count > 150 and agreed > 150


# -- the rules, one by one ---------------------------------------------------------------


def test_the_forms_the_json_mapping_allows() -> None:
    record = {
        "timeUnixNano": "1764300000000000000",
        "observedTimeUnixNano": 5,
        "severityNumber": "SEVERITY_NUMBER_WARN",
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "",
        "flags": "1",
        "body": None,
        "attributes": [
            {"key": "i", "value": {"intValue": "-12"}},
            {"key": "e", "value": {"intValue": "1e3"}},
            {"key": "d", "value": {"doubleValue": "NaN"}},
            {"key": "b", "value": {"boolValue": False}},
            {"key": "y", "value": {"bytesValue": "_-8"}},
            {"key": "n", "value": {"stringValue": None}},
            {"key": "a", "value": {"arrayValue": {"values": [{"intValue": 1}, {}]}}},
            {"key": "k", "value": {"kvlistValue": {"values": [{"key": "x", "value": None}]}}},
        ],
    }
    request = new("logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]})
    log = request.resource_logs[0].scope_logs[0].log_records[0]
    assert log.time_unix_nano == T0 and log.observed_time_unix_nano == 5 and log.severity_number == 13
    assert log.trace_id.hex() == "5b8efff798038103d269b633813fc60c" and log.span_id == b"" and log.body is None
    values = log.attributes
    assert values["i"] == -12 and values["e"] == 1000 and values["d"] != values["d"] and values["b"] is False
    assert values["y"] == "ffef" and values["n"] is None and values["a"] == [1, None] and values["k"] == {"x": None}
    assert (
        request.resource_logs[0].resource.attributes == {} and request.resource_logs[0].scope_logs[0].scope.name == ""
    )


def test_unknown_fields_and_enum_names_are_ignored_protobuf_names_still_work() -> None:
    later = {
        "resourceLogs": [
            {
                "newTopLevel": {"x": [1]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "7",
                                "severityNumber": "SEVERITY_NUMBER_FROM_THE_FUTURE",
                                "someNewField": True,
                                "attributes": attrs({"event.name": "x"}),
                            }
                        ]
                    }
                ],
            }
        ]
    }
    log = new("logs", later).resource_logs[0].scope_logs[0].log_records[0]
    assert log.time_unix_nano == 7 and log.severity_number == 0 and log.attributes == {"event.name": "x"}
    snake = {
        "resource_logs": [{"scope_logs": [{"log_records": [{"time_unix_nano": "7", "attributes": attrs({"a": "b"})}]}]}]
    }
    message = new("logs", snake)  # json_format's path: a protobuf message
    assert message.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano == 7
    assert mapped("logs", message)["unmapped"] == {"log:other": 1}


@pytest.mark.parametrize(
    ("signal", "body", "needle"),
    [
        (
            "traces",
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]},
            "$.resourceSpans[0].scopeSpans[0].spans[0].traceId: 'xyz' is not a hex id",
        ),
        (
            "logs",
            {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]},
            "$.resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: expected an integer",
        ),
        (
            "logs",
            {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": str(2**64)}]}]}]},
            "logRecords[0].timeUnixNano: 18446744073709551616 is out of range for uint64",
        ),
        ("logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"flags": -1}]}]}]}, "logRecords[0].flags"),
        (
            "logs",
            {
                "resourceLogs": [
                    {
                        "scopeLogs": [
                            {
                                "logRecords": [
                                    {
                                        "attributes": [
                                            {"key": "a", "value": {"stringValue": "x"}},
                                            {"key": "b", "value": {"stringValue": "x", "intValue": "1"}},
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            "logRecords[0].attributes[1].value: more than one of AnyValue's value fields is set "
            "(stringValue, intValue)",
        ),
        (
            "logs",
            {
                "resourceLogs": [
                    {"scopeLogs": [{"logRecords": [{"body": {"arrayValue": {"values": [{"boolValue": "true"}]}}}]}]}
                ]
            },
            "logRecords[0].body.arrayValue.values[0].boolValue: expected true or false",
        ),
        (
            "logs",
            {"resourceLogs": [{"resource": {"attributes": [{"key": "k", "value": {"bytesValue": "AAAAA"}}]}}]},
            "$.resourceLogs[0].resource.attributes[0].value.bytesValue: 'AAAAA' is not base64",
        ),
        ("logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [None]}]}]}, "logRecords[0]"),
        (
            "metrics",
            {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {}, "gauge": {}}]}]}]},
            "metrics[0]: more than one of a metric's data fields is set (gauge, sum)",
        ),
        (
            "metrics",
            {
                "resourceMetrics": [
                    {"scopeMetrics": [{"metrics": [{"gauge": {"dataPoints": [{"asDouble": 1, "asInt": "1"}]}}]}]}
                ]
            },
            "gauge.dataPoints[0]: more than one of a point's value fields",
        ),
        (
            "metrics",
            {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {"aggregationTemporality": [2]}}]}]}]},
            "sum.aggregationTemporality: expected an enum number or name",
        ),
        ("logs", {"resourceLogs": {"no": "list"}}, "resourceLogs"),
    ],
)
def test_what_breaks_the_rules_is_refused_naming_path_and_reason(signal: str, body: Any, needle: str) -> None:
    assert needle in refusal(signal, body)


def test_bodies_that_are_not_json_are_refused_as_before() -> None:
    assert refusal("logs", b"[1, 2]") == "the body must be a JSON object (ExportLogsServiceRequest)"
    assert refusal("logs", b'{"resourceLogs": [').startswith("invalid JSON: ")
    assert refusal("logs", b'{"resourceLogs": [], "x": "\\ud800"}').startswith("invalid JSON: ")
    # text msgspec would skip unread, inside an unknown field: still refused
    assert refusal("logs", b'{"resourceLogs": [], "unknown": "\xff"}').startswith("invalid JSON: ")
    assert refusal("logs", b'{"resourceLogs": [], "unknown": [1, 2}').startswith("invalid JSON: ")


def test_the_helpers_build_what_the_receiver_maps() -> None:
    body = logs_body(
        [
            log_record(
                T0,
                {
                    "event.name": "autoscope.impression",
                    "user.id": "ada",
                    "autoscope.question_id": "q",
                    "autoscope.score": 4,
                },
                body="hi",
            )
        ],
        {"service.name": "svc"},
    )
    request = new("logs", body)
    assert otlp_json.is_json_request(request)
    result = mapped("logs", request)
    assert result["records"] == 1 and result["events"][0][0]["score"] == 4
    assert result == mapped("logs", _decode_with_json_format(SIGNALS["logs"], json.dumps(body).encode()))

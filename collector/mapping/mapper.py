"""One OTLP export request → contract dicts, by source: Autoscope's conventions, Claude Code,
the GenAI conventions; everything else is counted as unmapped by kind and name
(:mod:`~autoscope.collector.mapping.unmapped`).

The rules are tabled in ``docs/otlp-mapping.md``.
"""

from __future__ import annotations

import json
from typing import Any

from autoscope.collector.codecs.otlp_json import is_json_request
from autoscope.collector.mapping import autoscope_semconv, claude_code, codex, gemini_cli, genai_semconv
from autoscope.collector.mapping.agent_turns import SessionMemory
from autoscope.collector.mapping.attributes import any_value, as_str, attributes
from autoscope.collector.mapping.identity import ResourceIdentity
from autoscope.collector.mapping.metrics_state import Increment, SumState, SumTransaction
from autoscope.collector.mapping.records import MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.mapping.unmapped import unmapped_key

DELTA, CUMULATIVE = 1, 2  # AggregationTemporality


# A request is a protobuf message (OTLP/protobuf, gRPC) or, for OTLP/JSON, a Struct of the
# same shape whose attribute lists are dicts already and whose log bodies are Python values
# (codecs.otlp_json). These read either.


def _body(log: Any) -> Any:
    return any_value(log.body) if log.HasField("body") else None


def _json_body(log: Any) -> Any:
    return log.body.value if log.body is not None else None


def _json_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return attributes


class Mapper:
    """Parameters:
    settings: the lab's OTLP settings.
    state: cumulative-sum state shared by every request of this collector.
    """

    def __init__(self, settings: OtlpSettings, state: SumState | None = None) -> None:
        self.settings = settings
        self.state = state or SumState()
        self._log_plans: dict[tuple[str, ...], Any] = {}  # see autoscope_semconv.map_log
        self.sessions = SessionMemory()  # what the coding agents say once per session, grants sent

    # -- logs ---------------------------------------------------------------------------

    def map_logs(self, request: Any) -> MapResult:
        result = MapResult()
        events = result.events
        claude: list[Record] = []
        gemini: list[Record] = []
        codex_records: list[Record] = []
        identity = self.settings.identity
        attributes_of, body_of = (_json_attributes, _json_body) if is_json_request(request) else (attributes, _body)
        n = 0
        for resource_logs in request.resource_logs:
            resource = attributes_of(resource_logs.resource.attributes)
            who = ResourceIdentity(identity, resource)
            for scope_logs in resource_logs.scope_logs:
                scope = scope_logs.scope.name
                for log in scope_logs.log_records:
                    attrs = attributes_of(log.attributes)
                    name = log.event_name
                    if not name:
                        event_name = attrs.get("event.name")
                        name = (as_str(event_name) or "") if event_name is not None else ""
                    record = Record(
                        n,
                        f"log record {n}",
                        attrs,
                        resource,
                        scope,
                        log.time_unix_nano or log.observed_time_unix_nano,
                        name,
                        body_of(log),
                    )
                    n += 1
                    if name.startswith(autoscope_semconv.PREFIX):
                        before = len(events)
                        try:
                            events.append(autoscope_semconv.map_log(record, identity, who, self._log_plans))
                        except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
                            result.fail(record, "log:autoscope", exc, before)
                    elif claude_code.short_name(record) is not None:
                        claude.append(record)
                    elif codex.event_name(record) is not None:
                        codex_records.append(record)
                    elif gemini_cli.event_name(record) is not None:
                        gemini.append(record)
                    else:
                        result.unmapped[unmapped_key("log", name)] += 1
        result.records = n
        claude_code.map_logs(claude, self.settings, result, self.sessions)
        gemini_cli.map_logs(gemini, self.settings, self.sessions, result)
        codex.map_logs(codex_records, self.settings, self.sessions, result)
        return result

    # -- traces -------------------------------------------------------------------------

    def map_traces(self, request: Any) -> MapResult:
        result = MapResult()
        attributes_of = _json_attributes if is_json_request(request) else attributes
        for resource_spans in request.resource_spans:
            resource = attributes_of(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    record = Record(
                        origin=result.records,
                        where=f"span {result.records} ({span.name[:64]})",
                        attributes=attributes_of(span.attributes),
                        resource=resource,
                        scope=scope_spans.scope.name,
                        time_ns=span.end_time_unix_nano or span.start_time_unix_nano,
                        name=span.name,
                        extra={
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "start_ns": span.start_time_unix_nano,
                            "error": span.status.code == 2,  # STATUS_CODE_ERROR
                        },
                    )
                    result.records += 1
                    before = len(result.events)
                    try:
                        genai_semconv.map_span(record, self.settings, result)
                    except Exception as exc:  # noqa: BLE001 - this record only (see MapResult.guard)
                        result.fail(record, "span:gen_ai", exc, before)
        return result

    # -- metrics ------------------------------------------------------------------------

    def map_metrics(self, request: Any) -> MapResult:
        result = MapResult()
        transaction = self.state.begin()
        attributes_of = _json_attributes if is_json_request(request) else attributes
        for resource_metrics in request.resource_metrics:
            resource = attributes_of(resource_metrics.resource.attributes)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    self._metric(metric, resource, scope_metrics.scope.name, transaction, result, attributes_of)
        result.commit = transaction.commit
        result.series = transaction.series
        return result

    def _metric(
        self,
        metric: Any,
        resource: dict[str, Any],
        scope: str,
        transaction: SumTransaction,
        result: MapResult,
        attributes_of: Any = attributes,
    ) -> None:
        data = metric.WhichOneof("data")
        points = list(getattr(metric, data).data_points) if data else []
        handler, kind = self._handler(metric.name, data, metric)
        failure_kind = "metric:claude_code" if claude_code.is_metric(metric.name) else "metric:gen_ai"
        for point in points:
            record = Record(
                origin=result.records,
                where=f"data point {result.records} of {metric.name[:64]}",
                attributes=attributes_of(point.attributes),
                resource=resource,
                scope=scope,
                time_ns=point.time_unix_nano,
                name=metric.name,
            )
            result.records += 1
            if handler is None:
                (result.superseded if kind.startswith("superseded:") else result.unmapped)[
                    kind.removeprefix("superseded:")
                ] += 1
                continue
            series = json.dumps(
                [metric.name, sorted(resource.items()), scope, sorted(record.attributes.items())],
                default=str,
                separators=(",", ":"),
            )
            value = (
                point.sum
                if data == "histogram"
                else (point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int))
            )
            temporality = getattr(metric, data).aggregation_temporality
            start = point.start_time_unix_nano
            # a point whose mapping fails leaves the series' state where it was: the next
            # point's increment then covers its amount too, so nothing is lost
            with result.guard(record, failure_kind, transaction.savepoint(series)):
                increment: Increment | None
                if temporality == CUMULATIVE:
                    increment = transaction.cumulative(series, start, point.time_unix_nano, value)
                else:
                    increment = transaction.delta(series, start, point.time_unix_nano, value)
                if increment is not None:
                    handler(record, series, increment, self.settings, result)

    def _handler(self, name: str, data: str | None, metric: Any) -> tuple[Any, str]:
        """The point mapper for a metric, or None and the kind it is counted under."""
        settings = self.settings
        label = name[:64]
        if claude_code.is_metric(name):
            if data != "sum" or not metric.sum.is_monotonic:
                return None, f"metric:{label}"
            if name in claude_code.CONTRIBUTION_METRICS or name in claude_code.FACT_METRICS:
                return claude_code.map_metric_point, ""
            if name in claude_code.USAGE_METRICS:
                if settings.claude_code_usage_from == "events":
                    return None, f"superseded:metric:{label}"
                return claude_code.map_metric_point, ""
            return None, f"metric:{label}"
        if genai_semconv.is_usage_metric(name) and data in ("histogram", "sum"):
            if settings.genai_usage_from == "spans":
                return None, f"superseded:metric:{label}"
            return genai_semconv.map_metric_point, ""
        if genai_semconv.is_metric(name):
            return None, f"metric:{label}"
        return None, unmapped_key("metric", name)

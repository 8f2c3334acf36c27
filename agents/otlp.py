"""The OpenTelemetry transport: a batch of events → an OTLP ``ExportLogsServiceRequest`` of log
records by Autoscope's semantic conventions (``semconv``) → ``POST {collector_url}/v1/logs``
(OTLP/HTTP, protobuf).

The request is built straight from the event dicts with opentelemetry-proto's message
classes (the OTLP wire schema) and posted over the same kept-alive connection as the native
transport (``transport.CollectorConnection``). Decision: no LoggerProvider and no
``OTLPLogExporter`` on this path. The SDK's exporter retries on its own and answers only
success or failure, while the hooks' delivery policy needs the collector's real answer
(``Retry-After``, 401 vs 404, ``partial_success``) to retry, spool or set aside; and a
provider of ours would only turn dicts into records to be turned into protobuf again.
A tool that runs OpenTelemetry keeps its providers, pipelines and ``OTEL_*`` settings
untouched (``otel_provider = "global"`` hands events to the tool's own pipeline instead).

The collector's answers: 2xx, accepted, with ``partial_success`` naming the records it
rejected; 400, the body could not be read; errors carry a ``google.rpc.Status``; the others
as in ``transport``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from autoscope.agents import semconv
from autoscope.agents.config import Settings
from autoscope.agents.transport import CollectorConnection, HttpAnswer, Refused, Reply, refusal
from google.rpc.status_pb2 import Status  # googleapis-common-protos, installed with the OTLP exporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_INFO, LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource


def any_value(value: Any) -> AnyValue:
    """An attribute value as OTLP's ``AnyValue``; TypeError for what an attribute cannot be."""
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(item) for item in value]))
    raise TypeError(f"{type(value).__name__} is not an OTLP attribute value")


def attributes(values: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in values.items()]


def log_record(event: Mapping[str, Any], observed_ns: int) -> LogRecord:
    """``event`` as an OTLP log record of Autoscope's semantic conventions."""
    return LogRecord(
        time_unix_nano=semconv.timestamp_ns(event["occurred_at"]), observed_time_unix_nano=observed_ns,
        severity_number=SEVERITY_NUMBER_INFO, severity_text="INFO",
        event_name=semconv.event_name(event["type"]),
        attributes=attributes(semconv.to_attributes(dict(event))),
    )


class OtlpTransport:
    """Sends batches of events as OTLP log records; never raises from ``send``."""

    def __init__(self, settings: Settings) -> None:
        self._connection = CollectorConnection(settings.collector_url, "/v1/logs", "application/x-protobuf",
                                               settings.token, settings.export_timeout_s, settings.tool)
        service = {"service.name": settings.tool}
        if settings.tool_version:
            service["service.version"] = settings.tool_version
        self._resource = Resource(attributes=attributes(service))
        self._scope = InstrumentationScope(name=semconv.SCOPE)

    def request(self, events: Sequence[Mapping[str, Any]]) -> ExportLogsServiceRequest:
        """The OTLP request carrying ``events``; raises on an event that cannot be a record."""
        now = time.time_ns()
        records = [log_record(event, now) for event in events]
        return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
            resource=self._resource, scope_logs=[ScopeLogs(scope=self._scope, log_records=records)])])

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        try:
            body = self.request(events).SerializeToString()
        except Exception as exc:  # split like a body the collector cannot read, down to the
            # event at fault, which is set aside
            return Reply(refused=Refused.MALFORMED, detail=f"not an event: {exc!r}")
        answer = self._connection.post(body)
        if isinstance(answer, Reply):
            return answer
        return self.judge(answer, len(events))

    @staticmethod
    def judge(answer: HttpAnswer, count: int) -> Reply:
        """What the collector's ``answer`` says of a batch of ``count`` records."""
        if 200 <= answer.status < 300:
            return _partial(answer.body, count)
        if answer.retryable:
            return answer.retry_reply()
        return refusal(answer.status, _status_message(answer.body))

    def close(self) -> None:
        self._connection.close()


def _partial(body: bytes, count: int) -> Reply:
    """A 2xx with ``partial_success``: the rejected records and the first reason."""
    try:
        response = ExportLogsServiceResponse.FromString(body)
    except Exception:
        return Reply(accepted=count)
    rejected = min(count, int(response.partial_success.rejected_log_records))
    return Reply(accepted=count - rejected, rejected=rejected, detail=response.partial_success.error_message)


def _status_message(body: bytes) -> str:
    """``google.rpc.Status.message`` of an OTLP/HTTP error body (else the body's start)."""
    try:
        message = Status.FromString(body).message
    except Exception:  # not a Status: a proxy's HTML page, say
        message = ""
    return message or body[:200].decode("utf-8", "replace")

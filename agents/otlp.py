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

from google.rpc.status_pb2 import Status  # googleapis-common-protos, installed with the OTLP exporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_INFO, LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from autoscope.agents import semconv
from autoscope.agents.config import Settings
from autoscope.agents.transport import CollectorConnection, HttpAnswer, Refused, Reply, refusal


def set_value(target: AnyValue, value: Any) -> None:
    """Write an attribute value into OTLP's ``AnyValue`` ``target``; TypeError for what an
    attribute cannot be. In place: building messages and copying them in costs twice as much."""
    if isinstance(value, bool):  # before int: a bool is an int in Python
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, (list, tuple)):
        items = target.array_value.values
        target.array_value.SetInParent()  # an empty array is still an array
        for item in value:
            set_value(items.add(), item)
    else:
        raise TypeError(f"{type(value).__name__} is not an OTLP attribute value")


def add_attributes(target: Any, values: Mapping[str, Any]) -> None:
    """Append ``values`` to a repeated ``KeyValue`` field."""
    for key, value in values.items():
        pair = target.add()
        pair.key = key
        set_value(pair.value, value)


def add_log_record(records: Any, event: Mapping[str, Any], observed_ns: int) -> LogRecord:
    """Append ``event`` to the repeated field ``records`` as a log record of Autoscope's
    semantic conventions."""
    record = records.add()
    record.time_unix_nano = semconv.timestamp_ns(event["occurred_at"])
    record.observed_time_unix_nano = observed_ns
    record.severity_number = SEVERITY_NUMBER_INFO
    record.severity_text = "INFO"
    record.event_name = semconv.event_name(event["type"])
    add_attributes(record.attributes, semconv.to_attributes(dict(event)))
    return record


class OtlpTransport:
    """Sends batches of events as OTLP log records; never raises from ``send``."""

    def __init__(self, settings: Settings) -> None:
        self._connection = CollectorConnection(
            settings.collector_url,
            "/v1/logs",
            "application/x-protobuf",
            settings.token,
            settings.export_timeout_s,
            settings.tool,
        )
        service = {"service.name": settings.tool}
        if settings.tool_version:
            service["service.version"] = settings.tool_version
        self._resource = Resource()
        add_attributes(self._resource.attributes, service)

    def request(self, events: Sequence[Mapping[str, Any]]) -> ExportLogsServiceRequest:
        """The OTLP request carrying ``events``; raises on an event that cannot be a record."""
        request = ExportLogsServiceRequest()
        resource_logs = request.resource_logs.add()
        resource_logs.resource.CopyFrom(self._resource)
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = semconv.SCOPE
        now = time.time_ns()
        for event in events:
            add_log_record(scope_logs.log_records, event, now)
        return request

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

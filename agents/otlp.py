"""The OpenTelemetry transport: a batch of events → OTel log records (Autoscope's semantic
conventions, see ``semconv``) → ``OTLPLogExporter`` → ``POST {collector_url}/v1/logs``.

It runs only on the exporter's background thread, behind the same bounded queue, retries,
spool and counters as the native transport (``exporter.Exporter`` decides what to do with a
:class:`~autoscope.agents.transport.Reply`). The records are made by a private
``LoggerProvider`` of ours, never the tool's global one, so a tool that runs OpenTelemetry
keeps its providers and pipelines untouched.

``OTLPLogExporter`` answers only success or failure and retries on its own; to keep the
exporter's own policy (spool after ``spool_after_s``, honour ``Retry-After``, count partial
rejections) it is given a ``requests`` session that records the real answer and hands the
OTel client a final one, so the client returns at once. The client's error log lines about
those answers are filtered out on our thread only.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

import requests  # the HTTP client of opentelemetry-exporter-otlp-proto-http, installed with it
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export as sdk_export
from opentelemetry.sdk.resources import Resource
from google.rpc.status_pb2 import Status  # googleapis-common-protos, installed with the exporter

from autoscope.agents import semconv
from autoscope.agents.config import Settings
from autoscope.agents.transport import CONNECT_TIMEOUT_S, RETRYABLE, Refused, Reply, refusal, retry_after, user_agent

_LogRecordExporter = getattr(sdk_export, "LogRecordExporter", None) or sdk_export.LogExporter
_Result = getattr(sdk_export, "LogRecordExportResult", None) or sdk_export.LogExportResult
_QUIET_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.http.transport",
    "opentelemetry.sdk._logs._internal.export",
)


_ours = threading.local()


class _OnOurThread(logging.Filter):
    """Drops the OTel exporter's log lines about our exports (we count them in stats())."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_ours, "exporting", False)


def _short(exc: BaseException) -> str:
    """``ConnectionError: [Errno 111] Connection refused`` rather than urllib3's whole chain."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return f"{type(exc).__name__}: {found.group(0) if found else text[:160]}"


_filter_installed = False
_filter_lock = threading.Lock()


def _quiet_otel_logs_on_our_thread() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            for name in _QUIET_LOGGERS:
                logging.getLogger(name).addFilter(_OnOurThread())
            _filter_installed = True


class _Answer:
    __slots__ = ("status", "retry_after", "body", "error")

    def __init__(self, status: int = 0, retry_after: str | None = None, body: bytes = b"",
                 error: BaseException | None = None) -> None:
        self.status, self.retry_after, self.body, self.error = status, retry_after, body, error


#: headers of the exporter's own that may reach the collector; all others are dropped
_WIRE_HEADERS = ("content-type", "content-encoding", "user-agent")


class _RecordingSession(requests.Session):
    """Records the collector's real answer; gives the OTel client a final one (no retries).

    It also sends exactly our headers and TLS settings: ``OTLPLogExporter`` merges in the
    tool's ``OTEL_EXPORTER_OTLP_HEADERS`` (often a vendor's API key) and certificates, which
    are the tool's business and must never reach the Autoscope collector."""

    answer: _Answer | None = None

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__()
        self._ours = headers

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        given = kwargs.get("headers") or {}
        kwargs["headers"] = {
            **{k: v for k, v in given.items() if k.lower() in _WIRE_HEADERS}, **self._ours,
        }
        kwargs["verify"] = True
        kwargs["cert"] = None
        read_timeout = kwargs.get("timeout")
        if isinstance(read_timeout, (int, float)):  # (connect, read): see CONNECT_TIMEOUT_S
            kwargs["timeout"] = (min(CONNECT_TIMEOUT_S, read_timeout), read_timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:  # connection refused, timeout, TLS …: retry later
            self.answer = _Answer(error=exc)
            return _final(url)
        self.answer = _Answer(response.status_code, response.headers.get("Retry-After"), response.content)
        if response.status_code in RETRYABLE or response.status_code >= 500:
            return _final(url)
        return response


def _final(url: str) -> requests.Response:
    """A non-retryable answer for the OTel client: our exporter does the retrying."""
    response = requests.Response()
    response.status_code = 400
    response.reason = "autoscope: retried by the hooks' exporter"
    response._content = b""
    response.url = url
    return response


class _Capture(_LogRecordExporter):  # type: ignore[misc, valid-type]
    """Collects the SDK's finished records, so that any SDK version makes them for us."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def export(self, batch: Any) -> Any:
        self.records.extend(batch)
        return _Result.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _status_message(body: bytes) -> str:
    """``google.rpc.Status.message`` of an OTLP/HTTP error body (else the body's start)."""
    try:
        message = Status.FromString(body).message
    except Exception:  # not a Status: a proxy's HTML page, say
        message = ""
    return message or body[:200].decode("utf-8", "replace")


class OtlpTransport:
    """Sends batches of JSON-encoded events as OTLP log records; never raises from ``send``."""

    def __init__(self, settings: Settings) -> None:
        _quiet_otel_logs_on_our_thread()
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self._session = _RecordingSession({**headers, "User-Agent": user_agent(settings.tool)})
        self._exporter = OTLPLogExporter(
            endpoint=settings.collector_url.rstrip("/") + "/v1/logs",
            headers=headers, timeout=settings.export_timeout_s, session=self._session,
        )
        resource = Resource.create({"service.name": settings.tool, "service.version": settings.tool_version})
        self._provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        self._capture = _Capture()
        self._provider.add_log_record_processor(sdk_export.SimpleLogRecordProcessor(self._capture))
        self._logger = self._provider.get_logger(semconv.SCOPE)

    def records(self, events: list[dict[str, Any]]) -> list[Any]:
        """The SDK log records of ``events``, ready for any LogRecordExporter."""
        self._capture.records = []
        now = time.time_ns()
        for event in events:
            self._logger.emit(semconv.log_record(event, now))
        records, self._capture.records = self._capture.records, []
        return records

    def send(self, lines: list[bytes]) -> Reply:
        try:
            records = self.records([json.loads(line) for line in lines])
        except Exception as exc:
            return Reply(refused=Refused.MALFORMED, detail=f"not an event: {exc!r}")
        self._session.answer = None
        _ours.exporting = True
        try:
            result = self._exporter.export(records)
        except Exception as exc:  # the SDK promises nothing here
            return Reply(retry=True, detail=f"OTLP exporter: {exc!r}")
        finally:
            _ours.exporting = False
        answer = self._session.answer
        count = len(records)
        if answer is None:  # the OTel client did not send (it was shut down, say): keep the batch
            if result == _Result.SUCCESS:
                return Reply(accepted=count)
            return Reply(retry=True, detail="the OTLP exporter did not send the batch")
        if answer.error is not None:
            return Reply(retry=True, detail=f"collector unreachable: {_short(answer.error)}")
        status = answer.status
        if 200 <= status < 300:
            return self._partial(answer.body, count)
        if status in RETRYABLE or status >= 500:
            return Reply(retry=True, retry_after_s=retry_after(answer.retry_after), detail=f"HTTP {status}")
        return refusal(status, _status_message(answer.body))

    @staticmethod
    def _partial(body: bytes, count: int) -> Reply:
        """A 200 with ``partial_success``: the rejected records and the first reason."""
        try:
            response = ExportLogsServiceResponse.FromString(body)
        except Exception:
            return Reply(accepted=count)
        rejected = min(count, int(response.partial_success.rejected_log_records))
        return Reply(accepted=count - rejected, rejected=rejected,
                     detail=response.partial_success.error_message)

    def close(self) -> None:
        try:
            self._exporter.shutdown()
            self._provider.shutdown()
        except Exception:
            pass

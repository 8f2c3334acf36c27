"""OTLP/gRPC: the Logs, Trace and Metrics services of ``opentelemetry-proto`` on a grpcio server.

The server runs its own threads; each call is handed to the app's event loop
(:func:`asyncio.run_coroutine_threadsafe`), so it goes through the same intake as HTTP.
Status codes: INVALID_ARGUMENT (malformed, over a limit), UNAUTHENTICATED / PERMISSION_DENIED
(token), RESOURCE_EXHAUSTED (too many requests in flight, rate), UNAVAILABLE (spool at its
cap: retryable). gzip is negotiated by gRPC itself. The bearer token comes in the
``authorization`` metadata, as OTLP exporters send ``OTEL_EXPORTER_OTLP_HEADERS``.

Backpressure, as the OTLP specification has it: a RESOURCE_EXHAUSTED or UNAVAILABLE answer
carries a ``google.rpc.RetryInfo`` (a short delay) in the ``grpc-status-details-bin``
trailer. OTel exporters read the wait only from there (not from a ``retry-after`` header),
and some retry RESOURCE_EXHAUSTED only when it is present. The server takes at most the
intake's ``max_in_flight`` calls at once (``maximum_concurrent_rpcs``), so calls waiting for
a worker thread cannot pile up in memory; grpcio itself refuses calls beyond that bound, with
RESOURCE_EXHAUSTED and no RetryInfo (it offers no hook to add one).

Malformed requests: the services are registered with a request deserializer of our own
(:func:`_lenient_deserializer`) rather than the generated ``FromString``, which raises into
grpcio: it would answer INTERNAL ("Exception deserializing request!") and log a traceback.
Ours hands a request that does not parse on as its refusal, answered INVALID_ARGUMENT with
the reason, as OTLP/HTTP answers it 400. A message over the body limit is refused by grpcio
itself with RESOURCE_EXHAUSTED, naming both sizes.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from autoscope.collector.codecs.otlp import PROTOBUF, SIGNALS, Signal, decode
from autoscope.collector.pipeline import Refusal
from autoscope.collector.receivers.admission import Admission
from autoscope.collector.receivers.otlp import OtlpReceiver

log = logging.getLogger(__name__)

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}
CALL_TIMEOUT_S = 30.0
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_details(code: grpc.StatusCode, message: str, retry_after_s: int) -> bytes:
    """A serialized ``google.rpc.Status`` holding a ``RetryInfo`` of ``retry_after_s``: the
    trailer OTLP/gRPC exporters take their retry delay from."""
    retry = any_pb2.Any()
    retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s)))
    return status_pb2.Status(code=code.value[0], message=message, details=[retry]).SerializeToString()


def _metadata(context: grpc.ServicerContext) -> dict[str, str]:
    """gRPC metadata as the admission step reads headers (lower-case keys)."""
    return {key.lower(): value for key, value in context.invocation_metadata()}


class OtlpGrpcServer:
    """Parameters:
    admission: the admission step every receiver takes.
    receiver: the OTLP receiver shared with OTLP/HTTP.
    host, port: where to listen (port 0: a free one, see :attr:`port` after :meth:`start`).
    workers: threads serving calls.
    """

    def __init__(
        self,
        admission: Admission,
        receiver: OtlpReceiver,
        host: str,
        port: int,
        workers: int = 8,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.admission = admission
        self.receiver = receiver
        self.tls = tls
        self.host = host
        self.port = port
        self.workers = workers
        self.error: str | None = None
        self._server: grpc.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Listen; False (and :attr:`error` set, logged) when the port cannot be bound.

        The HTTP receiver keeps working when gRPC cannot listen, e.g. the port is taken.
        """
        self._loop = loop
        limit = self.receiver.intake.limits.max_body_bytes
        server = grpc.server(
            futures.ThreadPoolExecutor(self.workers, thread_name_prefix="autoscope-otlp-grpc"),
            # no SO_REUSEPORT: a second collector on the port must fail, not share its traffic
            options=[("grpc.max_receive_message_length", limit), ("grpc.so_reuseport", 0)],
            # calls beyond it are refused at once rather than queued for a worker thread
            maximum_concurrent_rpcs=self.receiver.intake.limits.max_in_flight,
        )
        server.add_generic_rpc_handlers([self._service(name) for name in SIGNALS])
        try:
            address = f"{self.host}:{self.port}"
            if self.tls is None:
                self.port = server.add_insecure_port(address)
            else:
                cert, key = (Path(p).read_bytes() for p in self.tls)
                self.port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
        except (RuntimeError, OSError) as exc:
            self.error = f"OTLP/gRPC cannot listen on {self.host}:{self.port}: {exc}"
            log.error(self.error)
            return False
        server.start()
        self._server = server
        return True

    def stop(self, grace_s: float = 2.0) -> None:
        if self._server is not None:
            self._server.stop(grace_s).wait(grace_s + 1)
            self._server = None

    def _service(self, signal_name: str) -> grpc.GenericRpcHandler:
        """The ``Export`` method of one OTLP service, with the lenient deserializer."""
        signal = SIGNALS[signal_name]
        service = _SERVICES[signal_name]

        def export(request: Any, context: grpc.ServicerContext) -> Any:
            return self.export(signal, request, context)

        handler = grpc.unary_unary_rpc_method_handler(
            export,
            request_deserializer=_lenient_deserializer(signal),
            response_serializer=signal.response_type.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(service, {"Export": handler})

    def export(self, signal: Signal, request: Any, context: grpc.ServicerContext) -> Any:
        with self.admission.admit(_metadata(context)) as sender:
            if isinstance(sender, Refusal):
                self._abort(context, sender)
            if isinstance(request, Refusal):  # did not parse: see _lenient_deserializer
                self._abort(context, self.admission.refuse("body", request, sender.tool_label))
            assert self._loop is not None
            future = asyncio.run_coroutine_threadsafe(
                self.receiver.export(signal, request, sender, "otlp_grpc"), self._loop
            )
            outcome = future.result(CALL_TIMEOUT_S)
        if isinstance(outcome, Refusal):
            self._abort(context, outcome)
        return outcome

    @staticmethod
    def _abort(context: grpc.ServicerContext, refusal: Refusal) -> None:
        code = _CODES.get(refusal.status, grpc.StatusCode.UNKNOWN)
        message = f"{refusal.field}: {refusal.reason}"
        if refusal.retry_after_s:
            details = status_details(code, message, refusal.retry_after_s)
            context.set_trailing_metadata(((STATUS_DETAILS_KEY, details),))
        context.abort(code, message)


_SERVICES = {
    "logs": logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name,
    "traces": trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name,
    "metrics": metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
}


def _lenient_deserializer(signal: Signal) -> Any:
    """Bytes → the request message, or the :class:`Refusal` saying why they are not one
    (never an exception: grpcio would answer INTERNAL and log a traceback)."""

    def deserialize(body: bytes) -> Any:
        return decode(signal, body, PROTOBUF)

    return deserialize

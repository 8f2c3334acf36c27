"""The tool's own OpenTelemetry, used only when it has one and only as configured.

* ``global_logger()``: with ``otel_provider = "global"``, events go as log records into the
  tool's global LoggerProvider (its processors and exporters deliver them, e.g. to the
  collector's ``/v1/logs`` via ``OTEL_EXPORTER_OTLP_ENDPOINT``). When the tool has no SDK
  provider, the hooks' own exporter is used instead.
* ``tracer()``: tasks become spans ``autoscope.task <category>`` when the tool has a tracer
  provider; the hooks never create or set one.

Nothing here calls ``set_logger_provider``/``set_tracer_provider`` or imports an OpenTelemetry
API module itself: a module that is not (fully) imported means the tool set up nothing there.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from autoscope.agents import semconv


def _imported(name: str) -> Any | None:
    """The module ``name`` once its import has finished, else None.

    A module is in ``sys.modules`` before its code has run. The hooks' exporter thread imports
    the OTel SDK (and with it the trace and logs APIs) while the tool goes on calling hooks, and
    a half-imported module has none of its attributes yet: seen as "partially initialized
    module 'opentelemetry.trace' has no attribute 'get_tracer_provider'".
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def tracer() -> Any | None:
    """A tracer of the tool's tracer provider, or None when the tool has none."""
    trace = _imported("opentelemetry.trace")
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    return provider.get_tracer(semconv.SCOPE)


def start_span(category: Any, start_ns: int | None = None) -> Any | None:
    """A started task span, or None when the tool has no tracer provider."""
    found = tracer()
    if found is None:
        return None
    return found.start_span(f"autoscope.task {category}", start_time=start_ns)


def attach(span: Any) -> Any:
    """Make ``span`` current (so the task's own spans nest under it); a token for ``detach``."""
    from opentelemetry import context, trace

    return context.attach(trace.set_span_in_context(span))


def detach(token: Any) -> None:
    from opentelemetry import context

    context.detach(token)


def end_span(span: Any, event: dict[str, Any] | None, outcome: str) -> None:
    """Give the span the task's attributes and status, and end it."""
    from opentelemetry.trace import Status, StatusCode

    if event is not None:
        span.set_attributes(semconv.to_attributes(event))
    if outcome == "failure":
        span.set_status(Status(StatusCode.ERROR, "task failed"))
    span.end()


def global_logger() -> Any | None:
    """A logger of the tool's global SDK LoggerProvider, or None when it has none."""
    logs = _imported("opentelemetry._logs")
    if logs is None:
        return None
    provider = logs.get_logger_provider()
    if type(provider).__name__ in ("ProxyLoggerProvider", "NoOpLoggerProvider"):
        return None
    return provider.get_logger(semconv.SCOPE)


def emit_to(logger: Any, event: dict[str, Any]) -> None:
    """``event`` as a log record of Autoscope's conventions, through the tool's pipeline."""
    logger.emit(semconv.log_record(event, time.time_ns()))

"""The process-wide hook state: which exporter the hooks use, made lazily from the
configuration on first use, and the guard that keeps every hook from raising into the tool.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from autoscope.agents import events
from autoscope.agents.config import Settings, load_settings
from autoscope.agents.counters import COUNTERS
from autoscope.agents.error_report import ErrorReport
from autoscope.agents.exporter import Exporter

logger = logging.getLogger("autoscope.agents")

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_exporter: Exporter | None = None
_unattributed_errors = 0  # errors before any exporter existed
_early_report = ErrorReport()  # and what they were
_capture: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "autoscope_capture", default=None
)


def configure(
    collector_url: str | None = None,
    token: str | None = None,
    team: str | None = None,
    tool: str | None = None,
    tool_version: str | None = None,
    actor: str | None = None,
    *,
    max_queue_size: int | None = None,
    max_batch_size: int | None = None,
    schedule_delay_s: float | None = None,
    spool_dir: str | Path | None = None,
    spool_after_s: float | None = None,
    spool_max_bytes: int | None = None,
    export_timeout_s: float | None = None,
    max_retry_after_s: float | None = None,
    shutdown_timeout_s: float | None = None,
    transport: str | None = None,
    otel_provider: str | None = None,
    task_spans: bool | None = None,
) -> Settings | None:
    """(Re)configure the hooks; None arguments come from the environment, file or defaults.

    Events still pending under a previous configuration are flushed to its collector first.
    Returns the settings in force, or None if they could not be made (logged, never raised).
    """
    global _exporter
    try:
        settings = load_settings(
            collector_url=collector_url,
            token=token,
            team=team,
            tool=tool,
            tool_version=tool_version,
            actor=actor,
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay_s=schedule_delay_s,
            spool_dir=spool_dir,
            spool_after_s=spool_after_s,
            spool_max_bytes=spool_max_bytes,
            export_timeout_s=export_timeout_s,
            max_retry_after_s=max_retry_after_s,
            shutdown_timeout_s=shutdown_timeout_s,
            transport=transport,
            otel_provider=otel_provider,
            task_spans=task_spans,
        )
        new = Exporter(settings, token_from_arguments=token is not None)
    except Exception as exc:
        record_error("agents.configure()", exc)
        return None
    with _lock:
        old, _exporter = _exporter, new
    if old is not None:
        old.shutdown()
    return settings


def current() -> Exporter:
    """The exporter in use, configured from the environment on first use."""
    global _exporter
    exporter = _exporter
    if exporter is None:
        with _lock:
            if _exporter is None:
                _exporter = Exporter(load_settings())
            exporter = _exporter
    return exporter


def error_message(where: str, exc: BaseException) -> str:
    """What went wrong, in the terms of the public API: ``where`` names the call the tool made
    (``agents.review()``); the hooks' own checks raise ValueError/TypeError naming the field,
    anything else is unexpected and keeps its type."""
    if isinstance(exc, (ValueError, TypeError)):
        text = f"{where}: {exc}"
    else:
        text = f"{where}: {type(exc).__name__}: {exc}"
    return f"{text} (the event was not sent; counted in stats()['errors'])"


def record_error(where: str, exc: BaseException) -> None:
    """Count a hook's failure (``errors``) and report it: each distinct message is logged,
    rate-limited, and listed in ``stats()['last_errors']``."""
    global _unattributed_errors
    message = error_message(where, exc)
    exporter = _exporter
    if exporter is not None:
        exporter.count("errors", error=message)
    else:
        with _lock:
            _unattributed_errors += 1
        _early_report.report(message)


def guarded(fn: F | None = None, *, public: str | None = None) -> Any:
    """Make ``fn`` return None instead of raising an Exception into the tool. ``public`` is
    how the tool called it, for the error message (default ``agents.<name>()``): as
    ``@guarded`` or ``@guarded(public="agents.task(...).finish()")``."""

    def decorate(fn: F) -> F:
        where = public or f"agents.{fn.__name__}()"

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                record_error(where, exc)
                return None

        return wrapper  # type: ignore[return-value]

    return decorate if fn is None else decorate(fn)


def emit(type_: str, fields: dict[str, Any], envelope: events.EnvelopeArgs) -> str | None:
    """Build the event and enqueue it; its event_id, or None if it was dropped."""
    event = emit_event(type_, fields, envelope)
    return None if event is None else event["event_id"]


def emit_event(type_: str, fields: dict[str, Any], envelope: events.EnvelopeArgs) -> dict[str, Any] | None:
    """Build the event and enqueue it (or hand it to the tool's OpenTelemetry pipeline when so
    configured); the event, or None if it was dropped. Raises on bad values."""
    exporter = current()
    event = events.build(type_, fields, exporter.settings, envelope)
    captured = _capture.get()
    if captured is not None:  # building only (``capturing``): not sent
        captured.append(event)
        return event
    if exporter.settings.otel_provider == "global":
        try:
            from autoscope.agents import otel

            logger = otel.global_logger()
            if logger is not None:
                otel.emit_to(logger, event)
                exporter.count("handed_off")
                return event
        except Exception as exc:  # the tool's pipeline failed: our own exporter still delivers
            record_error("the tool's global LoggerProvider (otel_provider='global')", exc)
    return event if exporter.submit(event) else None


@contextlib.contextmanager
def capturing() -> Iterator[list[dict[str, Any]]]:
    """Within it, the hooks of this thread/task build their events into the yielded list
    instead of sending them (the CLI uses it to send one event at once and report its fate)."""
    captured: list[dict[str, Any]] = []
    token = _capture.set(captured)
    try:
        yield captured
    finally:
        _capture.reset(token)


def stats() -> dict[str, Any]:
    """Counters of this process since the hooks were (re)configured: ``queued``, ``sent``,
    ``rejected`` (by the collector, for good; it quarantines them), ``unauthorized`` (refused
    for want of a valid token, kept in the spool until one is set), ``misdirected`` (refused
    by what answers at collector_url, kept in the spool), ``spooled`` (the collector did not
    answer), ``dropped``, ``errors``, ``retries``, ``handed_off``; also ``pending`` (in the
    queue now), ``last_error`` (the latest message) and ``last_errors``: up to 10 distinct
    problems, most recent first, each ``{"time", "count", "message"}``."""
    exporter = _exporter
    result: dict[str, Any] = (
        exporter.stats()
        if exporter is not None
        else {**dict.fromkeys(COUNTERS, 0), "pending": 0, "last_error": "", "last_errors": []}
    )
    result["errors"] += _unattributed_errors
    early = _early_report.last_errors()
    if early:  # problems from before the hooks had an exporter
        merged = sorted(result["last_errors"] + early, key=lambda e: e["time"], reverse=True)
        result["last_errors"] = merged[:10]
        result["last_error"] = result["last_error"] or early[0]["message"]
    return result


def flush(timeout_s: float = 10.0) -> bool:
    """Wait until every event so far was sent, rejected or spooled; False on timeout."""
    return _on_exporter("agents.flush()", lambda exporter: exporter.flush(timeout_s))


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush and stop the exporter; later events are dropped. Called at interpreter exit."""
    return _on_exporter("agents.shutdown()", lambda exporter: exporter.shutdown(timeout_s))


def _on_exporter(name: str, action: Callable[[Exporter], bool]) -> bool:
    """``action`` on the exporter in use (True if there is none); False if it raised."""
    try:
        exporter = _exporter
        return True if exporter is None else action(exporter)
    except Exception as exc:
        record_error(name, exc)
        return False


def _reset_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at fork()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)

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
from autoscope.agents.exporter import COUNTERS, Exporter

logger = logging.getLogger("autoscope.agents")

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_exporter: Exporter | None = None
_unattributed_errors = 0  # errors before any exporter existed
_logged: set[str] = set()
_capture: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "autoscope_capture", default=None)


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
            collector_url=collector_url, token=token, team=team, tool=tool,
            tool_version=tool_version, actor=actor, max_queue_size=max_queue_size,
            max_batch_size=max_batch_size, schedule_delay_s=schedule_delay_s, spool_dir=spool_dir,
            spool_after_s=spool_after_s, spool_max_bytes=spool_max_bytes,
            export_timeout_s=export_timeout_s, max_retry_after_s=max_retry_after_s,
            shutdown_timeout_s=shutdown_timeout_s, transport=transport,
            otel_provider=otel_provider, task_spans=task_spans,
        )
        new = Exporter(settings)
    except Exception as exc:
        record_error("configure", exc)
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


def record_error(where: str, exc: BaseException) -> None:
    """Count a hook's failure (``errors``) and log it once per kind."""
    global _unattributed_errors
    message = f"{where}: {type(exc).__name__}: {exc}"
    exporter = _exporter
    if exporter is not None:
        exporter.count("errors", error=message)
    else:
        with _lock:
            _unattributed_errors += 1
    key = f"{where}:{type(exc).__name__}"
    if key not in _logged and len(_logged) < 256:
        _logged.add(key)
        logger.warning("autoscope hook failed (counted in stats()['errors']): %s", message)


def guarded(fn: F) -> F:
    """Make ``fn`` return None instead of raising an Exception into the tool."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            record_error(fn.__name__, exc)
            return None

    return wrapper  # type: ignore[return-value]


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
            record_error("global LoggerProvider", exc)
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
    ``rejected``, ``spooled``, ``dropped``, ``errors``, ``retries``; also ``pending`` (in the
    queue now) and ``last_error``."""
    exporter = _exporter
    result: dict[str, Any] = (
        exporter.stats() if exporter is not None
        else {**dict.fromkeys(COUNTERS, 0), "pending": 0, "last_error": ""}
    )
    result["errors"] += _unattributed_errors
    return result


def flush(timeout_s: float = 10.0) -> bool:
    """Wait until every event so far was sent, rejected or spooled; False on timeout."""
    return _on_exporter("flush", lambda exporter: exporter.flush(timeout_s))


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush and stop the exporter; later events are dropped. Called at interpreter exit."""
    return _on_exporter("shutdown", lambda exporter: exporter.shutdown(timeout_s))


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

"""Building one event of the v1 contract as a plain dict, in the calling thread.

Only checks that cost nothing are made here: enum values, and that numbers are numbers and
labels are strings, so that whatever reaches the exporter is JSON-serializable. The collector
is the authority on everything else (label patterns, ranges) and answers a bad event with the
field and the reason. Every function raises ValueError/TypeError on bad input; the hooks
catch it and count it, never passing it on to the tool.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, TypedDict

from autoscope.agents.config import Settings
from autoscope.agents.event_ids import uuid7
from autoscope.core import contract
from autoscope.core.contract import SCHEMA_VERSION

# The enums the hooks check against, all from the one contract table (autoscope.core.contract).
#: who designed an experiment (``autoscope run --designed-by``)
EXECUTORS = contract.DESIGNERS
#: a task's executor; ``unknown`` is what a task given none reports (left out of the shares)
TASK_EXECUTORS = contract.EXECUTORS
#: where a task's human_minutes came from
SIZE_SOURCES = contract.SIZE_SOURCES
AUTONOMIES = contract.AUTONOMIES
CATEGORIES = contract.CATEGORIES
ROLES = contract.ROLES
RUNGS = contract.RUNGS
OUTCOMES = contract.OUTCOMES
REVIEW_ACTIONS = contract.REVIEW_ACTIONS
CONTRIBUTION_KINDS = contract.CONTRIBUTION_KINDS
AUTHORS = contract.AUTHORS
LINE_CLASSES = contract.LINE_CLASSES
SPEND_CATEGORIES = contract.SPEND_CATEGORIES
OVERSIGHT_MODES = contract.OVERSIGHT_MODES
REVIEWER_KINDS = contract.REVIEWER_KINDS
INCIDENT_KINDS = contract.INCIDENT_KINDS
SEVERITIES = contract.SEVERITIES
FINDERS = contract.FINDERS
PERMISSION_SCOPES = contract.PERMISSION_SCOPES
PERMISSION_ACTIONS = contract.PERMISSION_ACTIONS
GRANTERS = contract.GRANTERS
TIME_ACTIVITIES = contract.TIME_ACTIVITIES
TIME_ORIGINS = contract.TIME_ORIGINS

__all__ = [
    "AUTHORS",
    "AUTONOMIES",
    "FINDERS",
    "GRANTERS",
    "INCIDENT_KINDS",
    "OVERSIGHT_MODES",
    "PERMISSION_ACTIONS",
    "PERMISSION_SCOPES",
    "REVIEWER_KINDS",
    "SEVERITIES",
    "TIME_ACTIVITIES",
    "TIME_ORIGINS",
    "CATEGORIES",
    "CONTRIBUTION_KINDS",
    "EXECUTORS",
    "LINE_CLASSES",
    "OUTCOMES",
    "REVIEW_ACTIONS",
    "ROLES",
    "RUNGS",
    "SCHEMA_VERSION",
    "SIZE_SOURCES",
    "SPEND_CATEGORIES",
    "TASK_EXECUTORS",
    "EnvelopeArgs",
    "build",
    "choice",
    "integer",
    "label",
    "now",
    "number",
    "optional_choice",
    "optional_flag",
    "optional_label",
    "optional_number",
    "optional_timestamp",
    "timestamp",
]


class EnvelopeArgs(TypedDict, total=False):
    """The envelope keyword arguments every hook takes; each overrides the configured value."""

    team: str
    actor: str
    occurred_at: dt.datetime | str | float
    event_id: str
    tool: str


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r}; allowed: {', '.join(allowed)}")
    return value


def optional_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    """``value`` if it is None or one of ``allowed``."""
    return None if value is None else choice(name, value, allowed)


def label(name: str, value: Any) -> str:
    """A label (id, name) as a string; ints are accepted and turned into strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{name} must be a string, got {type(value).__name__}")


def optional_label(name: str, value: Any) -> str | None:
    return None if value is None else label(name, value)


def optional_flag(name: str, value: Any) -> bool | None:
    """An optional true/false (a number or text is not taken for one)."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be true or false, got {type(value).__name__}")


def number(name: str, value: Any) -> float | int:
    """A finite real number (int or float, or anything ``float()`` takes that is not text)."""
    if value is None:
        raise TypeError(f"{name} is required: a number, got None")
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    result = value if isinstance(value, int) else float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def optional_number(name: str, value: Any) -> float | int | None:
    return None if value is None else number(name, value)


def integer(name: str, value: Any) -> int | None:
    """An optional whole number, e.g. a token count."""
    if value is None:
        return None
    result = number(name, value)
    if isinstance(result, float):
        if not result.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        result = int(result)
    return result


def timestamp(name: str, value: Any) -> str:
    """ISO-8601 with offset, in UTC. Takes a datetime, an ISO string or Unix seconds.

    A naive datetime or string is read as local time, as ``datetime.astimezone`` does.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, an ISO string or Unix seconds")
    return value.astimezone(dt.UTC).isoformat()


def optional_timestamp(name: str, value: Any) -> str | None:
    return None if value is None else timestamp(name, value)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build(type_: str, fields: dict[str, Any], settings: Settings, envelope: EnvelopeArgs) -> dict[str, Any]:
    """The complete event: envelope (configured values, overridden by ``envelope``) + fields."""
    unknown = set(envelope) - set(EnvelopeArgs.__annotations__)
    if unknown:
        raise TypeError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    event_id = envelope.get("event_id")
    occurred_at = envelope.get("occurred_at")
    event = {
        "event_id": uuid7() if event_id is None else label("event_id", event_id),
        "schema_version": SCHEMA_VERSION,
        "type": type_,
        "occurred_at": timestamp("occurred_at", now() if occurred_at is None else occurred_at),
        "source": {
            "tool": label("tool", envelope.get("tool") or settings.tool),
            "version": settings.tool_version,
        },
        "actor": label("actor", envelope.get("actor") or settings.actor),
        "team": label("team", envelope.get("team") or settings.team),
    }
    event.update(fields)
    return event

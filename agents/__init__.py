"""Autoscope hooks for lab tools: report tasks delegated to AI, their reviews, experiments,
contributions and more to the Autoscope collector, without ever slowing or crashing the tool.

    from autoscope import agents

    with agents.task("analysis", executor="ai", human_minutes=30) as t:
        ...                                   # the work; t.task_id names it
    agents.review(t.task_id, "approved", minutes=4)

Events are queued and sent in batches by a background thread (see ``exporter``), as
OpenTelemetry log records over OTLP/HTTP (``transport="otlp"``, the default; see ``semconv``)
or as native JSON batches (``transport="native"``). This package imports only the standard
library and OpenTelemetry, because it is installed into other people's tools.
"""

from __future__ import annotations

from autoscope.agents.config import Settings
from autoscope.agents.event_ids import uuid7
from autoscope.agents.hooks import (
    contribution,
    experiment,
    impression,
    incident,
    line_survival,
    model_deployment,
    permission,
    review,
    spend,
    time_allocation,
    training_milestone,
)
from autoscope.agents.runtime import configure, flush, shutdown, stats
from autoscope.agents.tasks import TaskHandle, resume_task, task

__all__ = [
    "Settings",
    "TaskHandle",
    "configure",
    "contribution",
    "experiment",
    "flush",
    "impression",
    "incident",
    "line_survival",
    "model_deployment",
    "permission",
    "resume_task",
    "review",
    "shutdown",
    "spend",
    "stats",
    "task",
    "time_allocation",
    "training_milestone",
    "uuid7",
]

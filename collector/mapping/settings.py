"""What a lab configures about mapping OTLP telemetry: identity attributes, sources, task defaults.

Where OTLP/gRPC listens is the receiver's concern, not the mapping's:
:class:`~autoscope.collector.receivers.grpc_settings.GrpcSettings`.

Every knob has a default that works for a lab that only sets ``OTEL_EXPORTER_OTLP_ENDPOINT``;
:meth:`OtlpSettings.from_mapping` loads overrides from a plain dict (a TOML/JSON section of
the collector settings), e.g. ``{"identity": {"actor_attributes": ["user.id"]},
"claude_code_usage_from": "metrics"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from autoscope.collector.mapping.identity import IdentitySettings
from autoscope.collector.mapping.prices import (
    DEFAULT_PRICES,
    ModelPrice,
    prices_from_mapping,
)


@dataclasses.dataclass(frozen=True)
class TaskDefaults:
    """Task fields third-party telemetry does not carry; a record's ``autoscope.<field>``
    attribute (or its resource's) overrides each. ``human_minutes`` is an estimate a lab
    should set to its own typical size of a delegated task."""

    autonomy: str = "supervised"
    category: str = "experiment_run"
    role: str = "engineer"
    rung: str = "engineering"
    human_minutes: float = 15.0
    outcome: str = "success"


@dataclasses.dataclass(frozen=True)
class OtlpSettings:
    """Parameters:
    identity: which attributes name the actor, the team and the tool.
    task_defaults: fields of mapped ``task`` events the telemetry does not carry.
    claude_code_usage_from: Claude Code reports cost, tokens and edit decisions both as
        log events and as metrics; only this source is mapped, the other is counted as
        superseded (``events`` by default: its metrics are known to go missing).
    genai_usage_from: token usage from GenAI model-call ``spans`` or from the
        ``gen_ai.client.token.usage`` metric; the other is counted as superseded.
    review_config_decisions: kept so that existing configurations still load; it has no
        effect since decisions carry their oversight mode (issue 12): a decision made by
        configuration is always a review with ``oversight = rule``, which the review
        indicators count apart from a person's.
    prices: model → USD per million tokens, for clients that report tokens but no cost
        (``[otlp.prices]``; defaults: :data:`~autoscope.collector.mapping.prices.DEFAULT_PRICES`,
        list prices of the date they name). A configured table replaces the defaults.
    """

    identity: IdentitySettings = IdentitySettings()
    task_defaults: TaskDefaults = TaskDefaults()
    claude_code_usage_from: Literal["events", "metrics"] = "events"
    genai_usage_from: Literal["spans", "metrics"] = "spans"
    review_config_decisions: bool = False
    prices: Mapping[str, ModelPrice] = dataclasses.field(default_factory=lambda: dict(DEFAULT_PRICES), hash=False)

    def __post_init__(self) -> None:
        if self.claude_code_usage_from not in ("events", "metrics"):
            raise ValueError("claude_code_usage_from must be 'events' or 'metrics'")
        if self.genai_usage_from not in ("spans", "metrics"):
            raise ValueError("genai_usage_from must be 'spans' or 'metrics'")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> OtlpSettings:
        """Settings from a plain dict; unknown keys raise, naming the key."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown OTLP setting(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "identity" in values:
            values["identity"] = _nested(IdentitySettings, values["identity"], "identity")
        if "prices" in values:
            values["prices"] = prices_from_mapping(values["prices"])
        if "task_defaults" in values:
            values["task_defaults"] = _nested(TaskDefaults, values["task_defaults"], "task_defaults")
        return cls(**values)


def _nested(cls: type, data: Mapping[str, Any], where: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {where} setting(s): {', '.join(sorted(unknown))}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

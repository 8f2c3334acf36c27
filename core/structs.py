"""The contract's msgspec Structs, built from the table in :mod:`autoscope.core.contract`.

Server side only (it imports msgspec, which the hooks' base install does not have): the
collector validates with these Structs (``collector/contract.py`` adds the error messages and
normalization) and the warehouse decodes the validated batches it reads from Kafka with them.
Nothing here restates a field: names, kinds, bounds, defaults and enum values are all read
from the table, so the Structs cannot drift from it.

An event decodes straight into the Struct of its type (a tagged union on ``type``); unknown
fields are rejected (``forbid_unknown_fields``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta

from autoscope.core import contract
from autoscope.core.contract import Field

EVENT_ID = Meta(
    pattern=contract.EVENT_ID_PATTERN, description="UUIDv7 or ULID made by the client; the idempotency key end to end"
)
LABEL = Meta(min_length=1, max_length=contract.LABEL_MAX_LENGTH, pattern=contract.LABEL_PATTERN)
IDENTITY = Meta(min_length=1, max_length=contract.IDENTITY_MAX_LENGTH)
VERSION = Meta(min_length=1, max_length=contract.VERSION_MAX_LENGTH, pattern=contract.VERSION_PATTERN)

Label = Annotated[str, LABEL]
Identity = Annotated[str, IDENTITY]
UtcTime = Annotated[dt.datetime, Meta(tz=True)]

_STRUCT_OPTIONS: dict[str, Any] = {"forbid_unknown_fields": True, "kw_only": True}


def _bounds(field: Field, *, finite: bool) -> Meta:
    bounds = {key: getattr(field, key) for key in ("ge", "gt", "le") if getattr(field, key) is not None}
    if finite and "le" not in bounds:
        bounds["le"] = contract.FINITE
    return Meta(**bounds)


def _annotation(field: Field) -> Any:
    """The Python type msgspec validates ``field`` against."""
    kind = field.kind
    if kind == "event_id":
        return Annotated[str, EVENT_ID]
    if kind == "schema_version":
        return Literal[contract.SCHEMA_VERSION]  # type: ignore[valid-type]
    if kind == "source":
        return Source
    if kind == "label":
        return Label
    if kind == "identity":
        return Identity
    if kind == "version":
        return Annotated[str, VERSION]
    if kind == "time":
        return UtcTime
    if kind == "number":
        return Annotated[float, _bounds(field, finite=True)]
    if kind == "integer":
        return Annotated[int, _bounds(field, finite=False)]
    if kind == "flag":
        return bool
    if kind == "labels":
        return Annotated[list[Label], Meta(max_length=field.max_items)]
    if kind == "enum":
        return Literal[field.values]  # type: ignore[valid-type]
    raise ValueError(f"{field.name}: no Struct type for kind {kind!r}")


def struct_fields(fields: tuple[Field, ...]) -> list[tuple[str, Any] | tuple[str, Any, Any]]:
    """``msgspec.defstruct`` field specs: required ones as (name, type), optional ones with
    their default (None or the table's value; a field that defaults to another stays None
    until ``normalize``)."""
    specs: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in fields:
        annotation = _annotation(field)
        if not field.optional:
            specs.append((field.name, annotation))
        elif field.default is None:
            specs.append((field.name, annotation | None, None))
        elif isinstance(field.default, tuple):  # a list field's default: a fresh empty list
            specs.append((field.name, annotation, msgspec.field(default_factory=lambda d=field.default: list(d))))
        else:
            specs.append((field.name, annotation, field.default))
    return specs


Source = msgspec.defstruct(
    "Source",
    struct_fields(contract.SOURCE),
    forbid_unknown_fields=True,
    module=__name__,
)
Source.__doc__ = "The tool that emitted the event."

#: fields every event carries; ``type`` is the tag that selects the subclass
Envelope = msgspec.defstruct(
    "Envelope",
    struct_fields(contract.ENVELOPE),
    tag_field="type",
    module=__name__,
    **_STRUCT_OPTIONS,
)
Envelope.__doc__ = "Fields every event carries. ``type`` is the tag that selects the subclass."


def class_name(event_type: str) -> str:
    """The Struct's class name of an event type: ``model_deployment`` → ``ModelDeployment``."""
    return "".join(part.title() for part in event_type.split("_"))


STRUCT_BY_TYPE: dict[str, type] = {
    type_: msgspec.defstruct(
        class_name(type_), struct_fields(fields), bases=(Envelope,), tag=type_, module=__name__, **_STRUCT_OPTIONS
    )
    for type_, fields in contract.EVENTS.items()
}

Task = STRUCT_BY_TYPE["task"]
Review = STRUCT_BY_TYPE["review"]
Experiment = STRUCT_BY_TYPE["experiment"]
Contribution = STRUCT_BY_TYPE["contribution"]
ModelDeployment = STRUCT_BY_TYPE["model_deployment"]
TrainingMilestone = STRUCT_BY_TYPE["training_milestone"]
Impression = STRUCT_BY_TYPE["impression"]
Spend = STRUCT_BY_TYPE["spend"]
AgentTurnFact = STRUCT_BY_TYPE["agent_turn_fact"]
Incident = STRUCT_BY_TYPE["incident"]
Permission = STRUCT_BY_TYPE["permission"]
TimeAllocation = STRUCT_BY_TYPE["time_allocation"]
LineSurvival = STRUCT_BY_TYPE["line_survival"]

Event = Union[tuple(STRUCT_BY_TYPE.values())]  # type: ignore[valid-type]  # noqa: UP007 (built from a tuple at run time)

_TYPE_BY_STRUCT: dict[type, str] = {cls: tag for tag, cls in STRUCT_BY_TYPE.items()}
_batch_decoder = msgspec.json.Decoder(list[Event])
_encoder = msgspec.json.Encoder()


def event_type(event: Any) -> str:
    """The ``type`` tag of a decoded event (msgspec keeps it in the class, not the instance)."""
    return _TYPE_BY_STRUCT[type(event)]


def encode_events(events: list[Any]) -> bytes:
    """Encode validated events as a JSON array (the Kafka message value)."""
    return _encoder.encode(events)


def decode_events(raw: bytes) -> list[Any]:
    """Decode a JSON array of already-validated events (a Kafka message value)."""
    return _batch_decoder.decode(raw)

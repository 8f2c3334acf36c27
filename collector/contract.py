"""The wire contract, v1, as the collector validates it: the Structs of
:mod:`autoscope.core.structs` (built from the one table in :mod:`autoscope.core.contract`),
plus the error messages a sender is answered with and the normalization of accepted events.

An event is a JSON object with the envelope fields (`event_id`, `schema_version`, `type`,
`occurred_at`, `source`, `actor`, `team`) and the fields of its `type`. msgspec decodes it
straight into the Struct of its type (a tagged union on `type`), so a bad event fails with a
message that names the field and the reason, e.g.
``Expected `int`, got `str` - at `$.human_minutes```.

The contract's decisions (unknown fields rejected, labels, identities, UTC times, finite
numbers, ``executor`` unknown, ``size_source``, ``family`` defaulting to ``category``) are
written once, in :mod:`autoscope.core.contract`. Here:

* ``occurred_at`` (and a deployment's times) are normalized to UTC, and a field that defaults
  to another field (``default_from``) is filled in, by :func:`normalize`;
* an infinite or NaN value is rejected as "must be a finite number", naming the field.

The Struct names (``Task`` … ``Spend``, ``Envelope``, ``Event``) are re-exported because they
are this module's documented public API (README "Event contract"; docs/design.md): the collector's stages and
tests type events by them.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
import types
import typing
from typing import Literal, Union

import msgspec

from autoscope.core import contract as table
from autoscope.core.contract import EVENT_TYPES, SCHEMA_VERSION
from autoscope.core.structs import (
    EVENT_ID,
    IDENTITY,
    LABEL,
    STRUCT_BY_TYPE,
    Contribution,
    Envelope,
    Event,
    Experiment,
    Identity,
    Impression,
    Label,
    ModelDeployment,
    Review,
    Source,
    Spend,
    Task,
    TrainingMilestone,
    UtcTime,
    decode_events,
    encode_events,
)

__all__ = [
    "EVENT_ID",
    "EVENT_TYPES",
    "IDENTITY",
    "LABEL",
    "SCHEMA_VERSION",
    "STRUCT_BY_TYPE",
    "Contribution",
    "ContractError",
    "Envelope",
    "Event",
    "Experiment",
    "Identity",
    "Impression",
    "Label",
    "ModelDeployment",
    "Review",
    "Source",
    "Spend",
    "Task",
    "TrainingMilestone",
    "UtcTime",
    "convert_event",
    "decode_event",
    "decode_events",
    "encode_events",
    "normalize",
]

_event_decoder = msgspec.json.Decoder(Event)


class ContractError(ValueError):
    """An event that breaks the contract. ``field`` is a JSON path such as ``$.actor``.

    ``field`` and ``reason`` are answered to the sender and may quote what it sent (the bad
    enum value, the unknown field's name): ``echoed``. What is *written down* (the quarantine,
    metric labels) is :attr:`kept_field` / :attr:`kept_reason`, where that text is quoted only
    when it is a plain label, the rule the quarantine scrubs payloads by: an email put into an
    enum field is told back to its sender and never reaches a disk.
    """

    def __init__(self, field: str, reason: str, echoed: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.echoed = echoed

    @property
    def _withheld(self) -> bool:
        return self.echoed is not None and not _PLAIN_LABEL.match(self.echoed)

    @property
    def kept_field(self) -> str:
        if not self._withheld:
            return self.field
        return self.field.replace(self.echoed, "<withheld name>")  # type: ignore[arg-type]

    @property
    def kept_reason(self) -> str:
        if not self._withheld:
            return self.reason
        marker = f"<withheld: {len(self.echoed)} characters, not a label>"  # type: ignore[arg-type]
        return self.reason.replace(repr(self.echoed), marker).replace(self.echoed, marker)  # type: ignore[arg-type]


# LABEL's pattern (no space, no @), empty allowed
_PLAIN_LABEL = re.compile(table.LABEL_PATTERN.replace("]+$", f"]{{0,{table.LABEL_MAX_LENGTH}}}$"))


def _quoted_value(text: str, prefix: str) -> str | None:
    """The sender's value msgspec quoted (with repr) after ``prefix``, e.g. ``Invalid enum value 'x'``."""
    try:
        value = ast.literal_eval(text[len(prefix) :].strip())
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _field_name(text: str) -> str:
    """The name between the backticks of ``Object contains unknown field `name```."""
    return text[text.index("`") + 1 : text.rindex("`")]


def _contract_error(exc: msgspec.ValidationError | msgspec.DecodeError, raw: object = None) -> ContractError:
    # msgspec says "Expected `int`, got `str` - at `$.human_minutes`"; split path and reason.
    message = str(exc)
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        if message.startswith("Object missing required field `"):
            return ContractError(f"$.{_field_name(message)}", "required field is missing")
        if message.startswith("Object contains unknown field `"):
            name = _field_name(message)
            return ContractError(f"$.{name}", "unknown field", echoed=name)
        if "Invalid value" in message and "tag" in message.lower() or "`type`" in message:
            return ContractError("$.type", _tag_reason(message), _quoted_value(message, "Invalid value"))
        return ContractError("$", message)
    field = where.rstrip("`")
    if reason.startswith("Object missing required field `"):
        return ContractError(f"{field}.{_field_name(reason)}", "required field is missing")
    if reason.startswith("Object contains unknown field `"):
        name = _field_name(reason)
        return ContractError(f"{field}.{name}", "unknown field", echoed=name)
    if field.endswith(".type") and reason.startswith("Invalid value"):
        return ContractError(field, _tag_reason(reason), _quoted_value(reason, "Invalid value"))
    if reason.startswith("Invalid enum value"):
        return ContractError(field, _enum_reason(field, reason, raw), _quoted_value(reason, "Invalid enum value"))
    if reason.startswith("Expected `float`"):
        value = raw.get(field.removeprefix("$.")) if isinstance(raw, dict) else None
        if isinstance(value, float) and not math.isfinite(value):
            return ContractError(field, f"must be a finite number, not {value!r}")
    return ContractError(field, reason)


def _allowed_values() -> dict[tuple[str, str], tuple[object, ...]]:
    """(event type, field) -> allowed values of every Literal field, for error messages."""
    allowed: dict[tuple[str, str], tuple[object, ...]] = {}
    for tag, cls in STRUCT_BY_TYPE.items():
        for name, hint in typing.get_type_hints(cls).items():
            is_union = typing.get_origin(hint) in (Union, types.UnionType)
            options = typing.get_args(hint) if is_union else (hint,)
            for option in options:
                if typing.get_origin(option) is Literal:
                    allowed[(tag, name)] = typing.get_args(option)
    return allowed


def _enum_reason(field: str, reason: str, raw: object) -> str:
    """Say which values a Literal field takes, e.g. for ``$.executor``."""
    name = field.rsplit(".", 1)[-1]
    type_ = None
    if isinstance(raw, (bytes, str)):
        try:
            type_ = msgspec.json.decode(raw, type=dict).get("type")
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            type_ = None
    elif isinstance(raw, dict):
        type_ = raw.get("type")
    options = _ALLOWED.get((str(type_), name))
    if options is None:  # type unknown: the field's values across all types
        options = tuple(dict.fromkeys(v for (_, f), vs in _ALLOWED.items() if f == name for v in vs))
    if not options:
        return reason
    return f"{reason}; allowed: {', '.join(map(str, options))}"


_ALLOWED = _allowed_values()


def _tag_reason(message: str) -> str:
    return f"unknown event type ({message}); expected one of: {', '.join(EVENT_TYPES)}"


#: event type → (field, the field it defaults to) for fields with ``default_from``
_DEFAULT_FROM: dict[type, tuple[tuple[str, str], ...]] = {
    STRUCT_BY_TYPE[type_]: tuple((f.name, f.default_from) for f in fields if f.default_from)
    for type_, fields in table.EVENTS.items()
}
#: event type → its time fields besides ``occurred_at``
_TIMES: dict[type, tuple[str, ...]] = {
    STRUCT_BY_TYPE[type_]: tuple(f.name for f in fields if f.kind == "time") for type_, fields in table.EVENTS.items()
}


def normalize(event: Event) -> Event:
    """Fill defaults that depend on other fields and bring times to UTC."""
    event.occurred_at = event.occurred_at.astimezone(dt.UTC)
    for name, source in _DEFAULT_FROM[type(event)]:
        if getattr(event, name) is None:
            setattr(event, name, getattr(event, source))
    for name in _TIMES[type(event)]:
        moment = getattr(event, name)
        if moment is not None:
            setattr(event, name, moment.astimezone(dt.UTC))
    return event


def decode_event(raw: bytes | str) -> Event:
    """Decode and validate one event from JSON, or raise :class:`ContractError`."""
    try:
        return normalize(_event_decoder.decode(raw))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _contract_error(exc, raw) from None
    except UnicodeDecodeError as exc:  # msgspec decodes a union's tag eagerly (found by fuzzing)
        raise ContractError("$", f"not valid UTF-8 at byte {exc.start}") from None
    except RecursionError:  # msgspec recurses per nesting level (found by structural fuzzing)
        raise ContractError(
            "$", "nested too deeply: arrays or objects within each other beyond about 1,000 levels"
        ) from None


def convert_event(obj: object) -> Event:
    """Validate one event given as Python objects (e.g. a dict), or raise ContractError."""
    try:
        return normalize(msgspec.convert(obj, Event))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _contract_error(exc, obj) from None

"""The wire contract, v1: the eight event types of docs/design.md as msgspec Structs.

An event is a JSON object with the envelope fields (`event_id`, `schema_version`, `type`,
`occurred_at`, `source`, `actor`, `team`) and the fields of its `type`. msgspec decodes it
straight into the Struct of its type (a tagged union on `type`), so a bad event fails with a
message that names the field and the reason, e.g.
``Expected `int`, got `str` - at `$.human_minutes```.

Decisions the design left open, made here:

* Unknown fields are rejected (``forbid_unknown_fields``), as docs/design.md says.
* Label-like strings (team, category names, model ids, accelerator types, purposes, tags …)
  must match :data:`LABEL`: short, no spaces, no ``@``. That is how "no free text and no emails
  reach the warehouse" is enforced structurally rather than by scrubbing.
* ``actor`` (and a review's ``reviewer``) is the only identity field; it may hold an email at
  the edge and is replaced by a keyed pseudonym in the collector (see ``pseudonymize``).
* ``occurred_at`` must carry a timezone; it is normalized to UTC.
* Numbers are finite: JSON cannot carry infinity, but a mapped attribute can (``"1e999"`` as a
  string reads as ``inf``); every float field has a finite upper bound, and an infinite or
  NaN value is rejected as "must be a finite number", naming the field.
* ``family`` of a task defaults to its ``category`` (docs/design.md), filled in by :func:`normalize`.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
import sys
from typing import Annotated, Literal, Union

import msgspec
from msgspec import Meta

SCHEMA_VERSION = 1

#: client-made id: a UUID (v7 recommended) in canonical form, or a ULID.
EVENT_ID = Meta(
    pattern=r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})$",
    description="UUIDv7 or ULID made by the client; the idempotency key end to end",
)
#: a short machine label, never free text: letters, digits and ``_ . : / + -``.
LABEL = Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/+\-]+$")
#: an identity at the edge (email, login, account id); pseudonymized by the collector.
IDENTITY = Meta(min_length=1, max_length=320)

Label = Annotated[str, LABEL]
Identity = Annotated[str, IDENTITY]
UtcTime = Annotated[dt.datetime, Meta(tz=True)]
FINITE = sys.float_info.max  # the upper bound of every float field: no infinity gets in
NonNegative = Annotated[float, Meta(ge=0, le=FINITE)]
Share = Annotated[float, Meta(ge=0, le=1)]

Executor = Literal["ai", "human", "mixed"]
Designer = Literal["ai", "human", "mixed"]
Autonomy = Literal["suggest", "supervised", "autonomous"]
Category = Literal[
    "hypothesis", "experiment_design", "experiment_run", "analysis", "communication", "literature"
]
Role = Literal["scientist", "engineer"]
Rung = Literal["engineering", "experiments", "ideation", "strategy"]
Outcome = Literal["success", "failure", "abandoned"]
ReviewAction = Literal["approved", "rejected", "modified", "intervened"]
ContributionKind = Literal["commit", "pull_request", "paper", "result"]
#: ``automation`` (CI, dependency and release bots) is neither a person nor AI (issue 13); events
#: that predate it only ever say ai or human.
Author = Literal["ai", "human", "automation"]
#: the class of a commit's lines (agents/git_authorship.py)
LineClass = Literal["automation", "ai_authored", "ai_coauthored", "ai_assisted", "human"]
SpendCategory = Literal["ai_tools", "compute", "data", "staff", "other"]

EVENT_TYPES = (
    "task",
    "review",
    "experiment",
    "contribution",
    "model_deployment",
    "training_milestone",
    "impression",
    "spend",
)


class Source(msgspec.Struct, forbid_unknown_fields=True):
    """The tool that emitted the event."""

    tool: Label
    version: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:+\-]+$")]


class Envelope(msgspec.Struct, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    """Fields every event carries. ``type`` is the tag that selects the subclass."""

    event_id: Annotated[str, EVENT_ID]
    schema_version: Literal[1]
    occurred_at: UtcTime
    source: Source
    actor: Identity
    team: Label


class Task(Envelope, tag="task", kw_only=True):
    task_id: Label
    executor: Executor
    autonomy: Autonomy
    category: Category
    role: Role
    rung: Rung
    human_minutes: Annotated[float, Meta(gt=0, le=525_600)]
    duration_s: NonNegative
    outcome: Outcome
    family: Label | None = None
    model: Label | None = None


class Review(Envelope, tag="review", kw_only=True):
    task_id: Label
    reviewer: Identity
    action: ReviewAction
    minutes: NonNegative


class Experiment(Envelope, tag="experiment", kw_only=True):
    experiment_id: Label
    designed_by: Designer
    accelerator_hours: NonNegative
    accelerator_type: Label
    purpose: Label
    flops: NonNegative | None = None


class Contribution(Envelope, tag="contribution", kw_only=True):
    contribution_id: Label
    kind: ContributionKind
    first_author: Author
    ai_share: Share
    # Optional, from git (issue 13); None where unknown (older events, non-git contributions).
    lines_added: Annotated[int, Meta(ge=0)] | None = None
    lines_deleted: Annotated[int, Meta(ge=0)] | None = None
    line_class: LineClass | None = None
    #: reachable from the default branch's tip when reported; None when not known (yet)
    on_default_branch: bool | None = None


class ModelDeployment(Envelope, tag="model_deployment", kw_only=True):
    model_id: Label
    internal_at: UtcTime
    public_at: UtcTime | None = None


class TrainingMilestone(Envelope, tag="training_milestone", kw_only=True):
    run_id: Label
    recipe: Label
    target_loss: NonNegative
    compute_to_target: Annotated[float, Meta(gt=0, le=FINITE)]
    baseline_run_id: Label | None = None


class Impression(Envelope, tag="impression", kw_only=True):
    question_id: Label
    score: Annotated[int, Meta(ge=1, le=5)]
    tags: Annotated[list[Label], Meta(max_length=16)] = []


class Spend(Envelope, tag="spend", kw_only=True):
    category: SpendCategory
    amount_usd: NonNegative
    model: Label | None = None
    input_tokens: Annotated[int, Meta(ge=0)] | None = None
    output_tokens: Annotated[int, Meta(ge=0)] | None = None


Event = Union[
    Task, Review, Experiment, Contribution, ModelDeployment, TrainingMilestone, Impression, Spend
]

STRUCT_BY_TYPE: dict[str, type[Envelope]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        Task, Review, Experiment, Contribution, ModelDeployment, TrainingMilestone, Impression,
        Spend,
    )
}

_event_decoder = msgspec.json.Decoder(Event)
_batch_decoder = msgspec.json.Decoder(list[Event])
_encoder = msgspec.json.Encoder()


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


_PLAIN_LABEL = re.compile(r"^[A-Za-z0-9_.:/+\-]{0,128}$")  # LABEL's pattern: no space, no @


def _quoted_value(text: str, prefix: str) -> str | None:
    """The sender's value msgspec quoted (with repr) after ``prefix``, e.g. ``Invalid enum value 'x'``."""
    try:
        value = ast.literal_eval(text[len(prefix):].strip())
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _field_name(text: str) -> str:
    """The name between the backticks of ``Object contains unknown field `name```."""
    return text[text.index("`") + 1 : text.rindex("`")]


def _contract_error(
    exc: msgspec.ValidationError | msgspec.DecodeError, raw: object = None
) -> ContractError:
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
    import types
    import typing

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


def normalize(event: Event) -> Event:
    """Fill defaults that depend on other fields and bring times to UTC."""
    event.occurred_at = event.occurred_at.astimezone(dt.timezone.utc)
    if isinstance(event, Task) and event.family is None:
        event.family = event.category
    if isinstance(event, ModelDeployment):
        event.internal_at = event.internal_at.astimezone(dt.timezone.utc)
        if event.public_at is not None:
            event.public_at = event.public_at.astimezone(dt.timezone.utc)
    return event


def decode_event(raw: bytes | str) -> Event:
    """Decode and validate one event from JSON, or raise :class:`ContractError`."""
    try:
        return normalize(_event_decoder.decode(raw))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _contract_error(exc, raw) from None
    except UnicodeDecodeError as exc:  # msgspec decodes a union's tag eagerly (found by fuzzing)
        raise ContractError("$", f"not valid UTF-8 at byte {exc.start}") from None


def convert_event(obj: object) -> Event:
    """Validate one event given as Python objects (e.g. a dict), or raise ContractError."""
    try:
        return normalize(msgspec.convert(obj, Event))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _contract_error(exc, obj) from None


def encode_events(events: list[Event]) -> bytes:
    """Encode validated events as a JSON array (the Kafka message value)."""
    return _encoder.encode(events)


def decode_events(raw: bytes) -> list[Event]:
    """Decode a JSON array of already-validated events (a Kafka message value)."""
    return _batch_decoder.decode(raw)

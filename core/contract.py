"""The event contract, v1, as one declarative table: the single source every room derives from.

Standard library only, because the hooks (``agents/``) import it inside lab tools. From this
table come:

* the msgspec Structs that validate events (:mod:`autoscope.core.structs`, used by the collector
  and the warehouse; ``collector/contract.py`` adds the error messages);
* the hooks' enum tuples (``agents/events.py``) and the semantic-convention field table
  (``agents/semconv.py`` ``FIELDS``: attribute types, required or not);
* the warehouse's expected columns and their SQL types (:func:`column_types`), which
  ``tests/test_contract_drift.py`` holds the migrations to, and the warehouse's default of a
  field that defaults to another (``family`` ← ``category``);
* the sophistication ladder's rungs (``pipelines/indicators/ladder.py``).

An event is a JSON object with the envelope fields (:data:`ENVELOPE`) and the fields of its
``type`` (:data:`EVENTS`). Decisions the contract makes (docs/design.md, README "Event contract"):

* Unknown fields are rejected.
* Label-like strings (team, category names, model ids, accelerator types, purposes, tags …)
  must match :data:`LABEL_PATTERN`: short, no spaces, no ``@``. That is how "no free text and
  no emails reach the warehouse" is enforced structurally rather than by scrubbing.
* ``actor`` (and a review's ``reviewer``) is the only identity field; it may hold an email at
  the edge and is replaced by a keyed pseudonym in the collector.
* Times carry a timezone and are normalized to UTC.
* Numbers are finite: every float field has a finite upper bound (:data:`FINITE`).
* A field with ``default_from`` takes the value of that other field when left out
  (a task's ``family`` defaults to its ``category``).
* A task's ``executor`` is ``unknown`` when the sender did not say: such a task is kept and
  counted, and left out of every share of AI, mixed and human work.
* ``size_source`` says where ``human_minutes`` came from (measured, estimated, default).

Versions are additive. The wire ``schema_version`` stays 1 for as long as every change is
additive: a new field must be optional (old senders keep sending valid events) and comes with
the migration that adds its column, and a new enum value only widens what is accepted.
:data:`REVISIONS` lists those additive revisions; each field names the revision that added it
(``since``), and the drift test checks that every field added after revision 1 is optional and
that its column is added by that revision's migration, not before. A change that is not
additive (a field removed, made required or narrowed) needs ``schema_version`` 2.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Literal

SCHEMA_VERSION = 1

#: client-made id: a UUID (v7 recommended) in canonical form, or a ULID.
EVENT_ID_PATTERN = (
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})$"
)
#: a short machine label, never free text: letters, digits and ``_ . : / + -``.
LABEL_PATTERN = r"^[A-Za-z0-9_.:/+\-]+$"
LABEL_MAX_LENGTH = 128
#: an identity at the edge (email, login, account id); pseudonymized by the collector.
IDENTITY_MAX_LENGTH = 320
#: a tool's version: a label without ``/``
VERSION_PATTERN = r"^[A-Za-z0-9_.:+\-]+$"
VERSION_MAX_LENGTH = 64
#: the upper bound of every float field: no infinity gets in
FINITE = sys.float_info.max

# The enums. Their order is meaningful where it says so (RUNGS: the ladder, lowest first).
#: who designed an experiment
DESIGNERS = ("ai", "human", "mixed")
#: who did a task; ``unknown`` is what a task given none reports (left out of the shares)
EXECUTORS = (*DESIGNERS, "unknown")
#: where a task's human_minutes came from
SIZE_SOURCES = ("measured", "estimated", "default")
AUTONOMIES = ("suggest", "supervised", "autonomous")
CATEGORIES = ("hypothesis", "experiment_design", "experiment_run", "analysis", "communication", "literature")
ROLES = ("scientist", "engineer")
#: the sophistication ladder, lowest rung first (its ordinal is the ``highest_rung`` indicator)
RUNGS = ("engineering", "experiments", "ideation", "strategy")
OUTCOMES = ("success", "failure", "abandoned")
REVIEW_ACTIONS = ("approved", "rejected", "modified", "intervened")
CONTRIBUTION_KINDS = ("commit", "pull_request", "paper", "result")
#: ``automation`` (CI, dependency and release bots) is neither a person nor AI (revision 3)
AUTHORS = ("ai", "human", "automation")
#: the class of a commit's lines (agents/git_authorship.py)
LINE_CLASSES = ("automation", "ai_authored", "ai_coauthored", "ai_assisted", "human")
SPEND_CATEGORIES = ("ai_tools", "compute", "data", "staff", "other")
#: who let an AI action through (revision 4): a person answered (accept / reject / modify), a
#: standing rule did (allowlist, accept-edits, config), or nobody was asked (yolo, bypass,
#: approval ``never``)
OVERSIGHT_MODES = ("person", "rule", "never_asked")
#: what one record of a coding agent's prompt turn was (revision 4, ``agent_turn_fact``)
TURN_FACT_KINDS = ("prompt", "slash_command", "model_call", "tool_call", "activity", "lines")
#: who did a review (revision 6): a person, or an AI acting as reviewer
REVIEWER_KINDS = ("person", "ai")
#: what went wrong (revision 6, ``incident``); ``subversion``: an AI acting against its
#: instructions or its overseers (GovAI, "Measuring AI R&D Automation", 2026)
INCIDENT_KINDS = ("defect", "revert", "security", "data", "subversion")
SEVERITIES = ("low", "medium", "high", "critical")
#: how an incident was found after the work was accepted
FINDERS = ("test", "person", "ai", "production")
#: what an agent may do (revision 6, ``permission``), narrowest first
PERMISSION_SCOPES = ("repo_write", "shell", "job_submission", "internet", "secrets", "production_deploy")
PERMISSION_ACTIONS = ("granted", "revoked")
#: who granted or revoked: a person's decision, or a standing policy (config, an org rule)
GRANTERS = ("person", "policy")
#: what a researcher's time went to (revision 6, ``time_allocation``)
TIME_ACTIVITIES = ("directing_ai", "reviewing_ai", "own_work")
#: where a time_allocation figure came from (review minutes are read from reviews, not sent);
#: ``origin``, because ``source`` is the envelope's sending tool
TIME_ORIGINS = ("survey", "agent_telemetry", "time_tracking")

#: the additive revisions of schema_version 1: revision → (what it added, its migration)
REVISIONS: dict[int, tuple[str, str | None]] = {
    1: ("the eight event types", "001_events.sql"),
    2: ("task.size_source; task.executor may be left out (unknown)", "006_task_size_source.sql"),
    3: ("contribution lines, line class, default branch; author automation", "007_contribution_lines.sql"),
    4: (
        ("agent_turn_fact (coding agents' prompt turns, assembled in the warehouse); review oversight; spend priced"),
        "009_agent_turns.sql",
    ),
    5: (
        "spend cache_read_tokens and cache_write_tokens (prompt-cache reads and writes, apart from input)",
        "010_spend_cache_tokens.sql",
    ),
    6: (
        "incident, permission, time_allocation and line_survival events; review reviewer_kind",
        "011_beyond_table1.sql",
    ),
}
#: the revision that added each event type (1 unless later): a type's own fields may be required
#: from that revision on, because no older sender sends the type at all
TYPE_SINCE: dict[str, int] = {
    "agent_turn_fact": 4,
    "incident": 6,
    "permission": 6,
    "time_allocation": 6,
    "line_survival": 6,
}

Kind = Literal[
    "event_id",
    "schema_version",
    "source",
    "label",
    "identity",
    "version",
    "time",
    "number",
    "integer",
    "flag",
    "labels",
    "enum",
]

#: the OpenTelemetry attribute type of each kind (docs/semantic-conventions.md, ``emit``)
_ATTRIBUTE_TYPE: dict[str, str] = {
    "event_id": "string",
    "label": "string",
    "identity": "string",
    "version": "string",
    "enum": "string",
    "time": "string (ISO-8601)",
    "number": "double",
    "integer": "int",
    "flag": "boolean",
    "labels": "string[]",
    "schema_version": "int",
    "source": "object",
}
#: the warehouse column type of each kind (an integer field may name a narrower one)
_COLUMN_TYPE: dict[str, str] = {
    "event_id": "VARCHAR",
    "label": "VARCHAR",
    "identity": "VARCHAR",
    "version": "VARCHAR",
    "enum": "VARCHAR",
    "time": "TIMESTAMP",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "flag": "BOOLEAN",
    "labels": "VARCHAR[]",
}


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of the contract.

    ``optional`` fields may be left out and then take ``default`` (or, with ``default_from``,
    the value of that other field of the event). Bounds (``ge``, ``gt``, ``le``) apply to
    numbers and integers; a number without ``le`` is bounded by :data:`FINITE`.
    ``max_items`` bounds a list; ``column_type`` overrides the kind's warehouse type.
    """

    name: str
    kind: Kind
    values: tuple[str, ...] = ()
    optional: bool = False
    default: object = None
    default_from: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    max_items: int | None = None
    column_type: str | None = None
    since: int = 1

    def __post_init__(self) -> None:
        if (self.kind == "enum") != bool(self.values):
            raise ValueError(f"{self.name}: an enum field and only an enum field lists values")
        if self.default is not None and not self.optional:
            raise ValueError(f"{self.name}: a default makes sense only for an optional field")

    @property
    def attribute_type(self) -> str:
        """Its OpenTelemetry attribute type (autoscope semantic conventions)."""
        return _ATTRIBUTE_TYPE[self.kind]

    @property
    def stored_type(self) -> str:
        """Its warehouse column type."""
        return self.column_type or _COLUMN_TYPE[self.kind]

    @property
    def nullable(self) -> bool:
        """Whether its column may hold NULL: it may be left out and nothing fills it in."""
        return self.optional and self.default is None and self.default_from is None


def _label(name: str, **kw: object) -> Field:
    return Field(name, "label", **kw)  # type: ignore[arg-type]


def _enum(name: str, values: tuple[str, ...], **kw: object) -> Field:
    return Field(name, "enum", values=values, **kw)  # type: ignore[arg-type]


def _amount(name: str, **kw: object) -> Field:
    """A finite number ≥ 0 unless told otherwise."""
    return Field(name, "number", **{"ge": 0, **kw})  # type: ignore[arg-type]


#: the tool that emitted the event (``source``)
SOURCE: tuple[Field, ...] = (Field("tool", "label"), Field("version", "version"))

#: fields every event carries, in wire order; ``type`` is the tag that selects the fields below
ENVELOPE: tuple[Field, ...] = (
    Field("event_id", "event_id"),
    Field("schema_version", "schema_version"),
    Field("occurred_at", "time"),
    Field("source", "source"),
    Field("actor", "identity"),
    _label("team"),
)

#: event type → its fields, in wire order (the order msgspec encodes them in)
EVENTS: dict[str, tuple[Field, ...]] = {
    "task": (
        _label("task_id"),
        _enum("executor", EXECUTORS, optional=True, default="unknown"),  # optional since revision 2
        _enum("autonomy", AUTONOMIES),
        _enum("category", CATEGORIES),
        _enum("role", ROLES),
        _enum("rung", RUNGS),
        Field("human_minutes", "number", gt=0, le=525_600),  # at most a year of work
        _amount("duration_s"),
        _enum("outcome", OUTCOMES),
        _label("family", optional=True, default_from="category"),
        _label("model", optional=True),
        _enum("size_source", SIZE_SOURCES, optional=True, since=2),
    ),
    "review": (
        _label("task_id"),
        Field("reviewer", "identity"),
        _enum("action", REVIEW_ACTIONS),
        _amount("minutes"),
        #: who let the work through; None (old senders, the hooks' review()) reads as a person
        _enum("oversight", OVERSIGHT_MODES, optional=True, since=4),
        #: a person or an AI reviewer; None (older senders) reads as a person
        _enum("reviewer_kind", REVIEWER_KINDS, optional=True, since=6),
    ),
    "experiment": (
        _label("experiment_id"),
        _enum("designed_by", DESIGNERS),
        _amount("accelerator_hours"),
        _label("accelerator_type"),
        _label("purpose"),
        _amount("flops", optional=True),
    ),
    "contribution": (
        _label("contribution_id"),
        _enum("kind", CONTRIBUTION_KINDS),
        _enum("first_author", AUTHORS),
        _amount("ai_share", le=1),
        Field("lines_added", "integer", ge=0, optional=True, since=3),
        Field("lines_deleted", "integer", ge=0, optional=True, since=3),
        _enum("line_class", LINE_CLASSES, optional=True, since=3),
        #: reachable from the default branch's tip when reported; None when not known (yet)
        Field("on_default_branch", "flag", optional=True, since=3),
    ),
    "model_deployment": (
        _label("model_id"),
        Field("internal_at", "time"),
        Field("public_at", "time", optional=True),
    ),
    "training_milestone": (
        _label("run_id"),
        _label("recipe"),
        _amount("target_loss"),
        Field("compute_to_target", "number", gt=0),
        _label("baseline_run_id", optional=True),
    ),
    "impression": (
        _label("question_id"),
        Field("score", "integer", ge=1, le=5, column_type="INTEGER"),
        Field("tags", "labels", optional=True, default=(), max_items=16),
    ),
    "spend": (
        _enum("category", SPEND_CATEGORIES),
        _amount("amount_usd"),
        _label("model", optional=True),
        Field("input_tokens", "integer", ge=0, optional=True),
        Field("output_tokens", "integer", ge=0, optional=True),
        #: True: amount_usd was computed from the tokens with a configured price table, the
        #: client reported no cost; None/False: the amount is what the sender reported
        Field("priced", "flag", optional=True, since=4),
        #: prompt-cache tokens, as the client reports them: whether ``input_tokens`` includes
        #: them is the client's convention (docs/otlp-mapping.md), so they are never added to it
        Field("cache_read_tokens", "integer", ge=0, optional=True, since=5),
        Field("cache_write_tokens", "integer", ge=0, optional=True, since=5),
    ),
    # One record of a coding agent's prompt turn (Claude Code, Gemini CLI, Codex CLI). The
    # collector maps each record to one fact; the warehouse assembles the turn (view
    # ``agent_turns``) and derives one AI task per turn that made a model call: a turn's records
    # arrive over many exports, in any order, through any collector (docs/otlp-mapping.md).
    "agent_turn_fact": (
        _label("session_id", since=4),
        #: the turn's key (a hash of the client's prompt id); None: the latest prompt of the
        #: session at or before this fact (Codex's records name no turn)
        _label("turn_id", optional=True, since=4),
        _enum("kind", TURN_FACT_KINDS, since=4),
        _label("model", optional=True, since=4),
        #: a model call's length
        _amount("duration_s", optional=True, since=4),
        Field("lines_added", "integer", ge=0, optional=True, since=4),
        Field("lines_removed", "integer", ge=0, optional=True, since=4),
        # on a prompt: the task it becomes, as the lab configured ([otlp.task_defaults])
        _enum("autonomy", AUTONOMIES, optional=True, since=4),
        _enum("category", CATEGORIES, optional=True, since=4),
        _enum("role", ROLES, optional=True, since=4),
        _enum("rung", RUNGS, optional=True, since=4),
        Field("human_minutes", "number", gt=0, le=525_600, optional=True, since=4),
        _enum("size_source", SIZE_SOURCES, optional=True, since=4),
    ),
    # Revision 6: the events behind the indicators beyond Table 1 (docs/indicators.md).
    # An error that escaped review, found after the work was accepted. ``actor`` is who
    # reported it; the work that introduced it is named when known.
    "incident": (
        _label("incident_id", since=6),
        _enum("kind", INCIDENT_KINDS, since=6),
        _enum("severity", SEVERITIES, since=6),
        #: None: not known (git-derived reverts and fixes say nothing of how they were found)
        _enum("found_by", FINDERS, optional=True, since=6),
        _label("introduced_by_task", optional=True, since=6),
        #: the contribution_id of the commit that introduced it
        _label("introduced_by_commit", optional=True, since=6),
    ),
    # A scope granted to or revoked from an agent. ``actor`` is whom the agent acts for (its
    # grant holder); ``oversight`` says whether, under the grant, the agent still asks a person.
    "permission": (
        _label("agent", since=6),
        _enum("scope", PERMISSION_SCOPES, since=6),
        _enum("action", PERMISSION_ACTIONS, since=6),
        _enum("granted_by", GRANTERS, since=6),
        _enum("oversight", OVERSIGHT_MODES, optional=True, since=6),
        #: the agent's own name for its mode (Claude Code's permission mode, Codex's approval
        #: policy, Gemini CLI's approval mode)
        _label("mode", optional=True, since=6),
        #: a grant that holds for one agent session only
        _label("session_id", optional=True, since=6),
    ),
    # Minutes of a researcher's time by activity, from a survey, an agent's active-time split
    # or time tracking; attributed to the period of ``occurred_at``.
    "time_allocation": (
        _enum("activity", TIME_ACTIVITIES, since=6),
        _amount("minutes", le=525_600, since=6),
        _enum("origin", TIME_ORIGINS, since=6),
    ),
    # How many of a merged commit's added lines are still present at ``as_of`` (git blame of the
    # default branch then); the commit's class and period are its contribution's.
    "line_survival": (
        _label("contribution_id", since=6),
        Field("as_of", "time", since=6),
        Field("lines_surviving", "integer", ge=0, since=6),
    ),
}

#: the event types, in the order of :data:`EVENTS`
EVENT_TYPES: tuple[str, ...] = tuple(EVENTS)

#: the envelope as stored in every type's table: column → path of the value in the event
ENVELOPE_COLUMNS: dict[str, str] = {
    "event_id": "event_id",
    "occurred_at": "occurred_at",
    "actor": "actor",
    "team": "team",
    "tool": "source.tool",
    "tool_version": "source.version",
}


def column_types(event_type: str) -> dict[str, tuple[str, bool]]:
    """The warehouse columns of ``event_type``'s table the contract asks for:
    column → (SQL type, nullable)."""
    envelope = {field.name: field for field in (*ENVELOPE, *SOURCE)}
    columns = {
        column: (envelope[path.rsplit(".", 1)[-1]].stored_type, False) for column, path in ENVELOPE_COLUMNS.items()
    }
    for field in EVENTS[event_type]:
        columns[field.name] = (field.stored_type, field.nullable)
    return columns

"""One hook per event type of the contract besides ``task``: each builds the event in the
calling thread, enqueues it and returns its event_id, or None if it could not be queued.
Bad values never raise; they are counted in ``stats()['errors']``, logged (each distinct message,
rate-limited) and listed in ``stats()['last_errors']``.

Every hook also takes the envelope keywords of :class:`~autoscope.agents.events.EnvelopeArgs`
(``team``, ``actor``, ``occurred_at``, ``event_id``, ``tool``), overriding configured values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Unpack

from autoscope.agents import events as ev
from autoscope.agents.event_ids import uuid7
from autoscope.agents.events import EnvelopeArgs
from autoscope.agents.runtime import current, emit, guarded


@guarded
def review(
    task_id: str,
    action: str,
    *,
    minutes: float,
    reviewer: str | None = None,
    reviewer_kind: str | None = None,
    oversight: str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """The task ``task_id`` was reviewed (approved, rejected, modified, intervened).
    ``reviewer`` defaults to the actor; ``reviewer_kind`` says whether a ``person`` (the
    default when left out) or an ``ai`` reviewed it; ``oversight`` who let the work through
    (person, rule, never_asked; left out: a person)."""
    reviewer = reviewer or envelope.get("actor") or current().settings.actor
    return emit(
        "review",
        {
            "task_id": ev.label("task_id", task_id),
            "reviewer": ev.label("reviewer", reviewer),
            "action": ev.choice("action", action, ev.REVIEW_ACTIONS),
            "minutes": ev.number("minutes", minutes),
            "oversight": ev.optional_choice("oversight", oversight, ev.OVERSIGHT_MODES),
            "reviewer_kind": ev.optional_choice("reviewer_kind", reviewer_kind, ev.REVIEWER_KINDS),
        },
        envelope,
    )


@guarded
def experiment(
    experiment_id: str | None = None,
    *,
    designed_by: str,
    accelerator_hours: float,
    accelerator_type: str,
    purpose: str,
    flops: float | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """An experiment designed by ai, human or mixed, and the compute it used."""
    return emit(
        "experiment",
        {
            "experiment_id": ev.label("experiment_id", experiment_id or uuid7()),
            "designed_by": ev.choice("designed_by", designed_by, ev.EXECUTORS),
            "accelerator_hours": ev.number("accelerator_hours", accelerator_hours),
            "accelerator_type": ev.label("accelerator_type", accelerator_type),
            "purpose": ev.label("purpose", purpose),
            "flops": ev.optional_number("flops", flops),
        },
        envelope,
    )


@guarded
def contribution(
    contribution_id: str | None = None,
    *,
    kind: str,
    first_author: str,
    ai_share: float,
    lines_added: int | None = None,
    lines_deleted: int | None = None,
    line_class: str | None = None,
    on_default_branch: bool | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """A commit, pull request, paper or result, whose first author is ai, human or automation;
    for commits, optionally its lines, their class and whether it reached the default branch."""
    fields = {
        "contribution_id": ev.label("contribution_id", contribution_id or uuid7()),
        "kind": ev.choice("kind", kind, ev.CONTRIBUTION_KINDS),
        "first_author": ev.choice("first_author", first_author, ev.AUTHORS),
        "ai_share": ev.number("ai_share", ai_share),
        "lines_added": ev.integer("lines_added", lines_added),
        "lines_deleted": ev.integer("lines_deleted", lines_deleted),
        "line_class": None if line_class is None else ev.choice("line_class", line_class, ev.LINE_CLASSES),
        "on_default_branch": ev.optional_flag("on_default_branch", on_default_branch),
    }
    # the optional fields are left out when unknown, so older collectors' events stay byte-identical
    return emit("contribution", {k: v for k, v in fields.items() if v is not None}, envelope)


@guarded
def model_deployment(
    model_id: str,
    *,
    internal_at: dt.datetime | str | None = None,
    public_at: dt.datetime | str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """A model deployed internally (default: now) and, once released, publicly."""
    return emit(
        "model_deployment",
        {
            "model_id": ev.label("model_id", model_id),
            "internal_at": ev.timestamp("internal_at", internal_at or ev.now()),
            "public_at": ev.optional_timestamp("public_at", public_at),
        },
        envelope,
    )


@guarded
def training_milestone(
    run_id: str,
    *,
    recipe: str,
    target_loss: float,
    compute_to_target: float,
    baseline_run_id: str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """A training run reached ``target_loss`` after ``compute_to_target`` FLOPs."""
    return emit(
        "training_milestone",
        {
            "run_id": ev.label("run_id", run_id),
            "recipe": ev.label("recipe", recipe),
            "target_loss": ev.number("target_loss", target_loss),
            "compute_to_target": ev.number("compute_to_target", compute_to_target),
            "baseline_run_id": ev.optional_label("baseline_run_id", baseline_run_id),
        },
        envelope,
    )


@guarded
def impression(
    question_id: str, *, score: int, tags: Iterable[str] = (), **envelope: Unpack[EnvelopeArgs]
) -> str | None:
    """An answer 1..5 to a survey question, with label tags (never free text)."""
    if isinstance(tags, str):
        tags = [tags]
    return emit(
        "impression",
        {
            "question_id": ev.label("question_id", question_id),
            "score": ev.integer("score", score),
            "tags": [ev.label("tags", tag) for tag in tags],
        },
        envelope,
    )


@guarded
def spend(
    category: str,
    *,
    amount_usd: float,
    model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """Money spent on ai_tools, compute, data, staff or other; for AI tools, the tokens
    (prompt-cache reads and writes apart from input: contract revision 5)."""
    return emit(
        "spend",
        {
            "category": ev.choice("category", category, ev.SPEND_CATEGORIES),
            "amount_usd": ev.number("amount_usd", amount_usd),
            "model": ev.optional_label("model", model),
            "input_tokens": ev.integer("input_tokens", input_tokens),
            "output_tokens": ev.integer("output_tokens", output_tokens),
            "cache_read_tokens": ev.integer("cache_read_tokens", cache_read_tokens),
            "cache_write_tokens": ev.integer("cache_write_tokens", cache_write_tokens),
        },
        envelope,
    )


@guarded
def incident(
    kind: str,
    *,
    severity: str,
    found_by: str | None = None,
    introduced_by_task: str | None = None,
    introduced_by_commit: str | None = None,
    incident_id: str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """An error that escaped review (defect, revert, security, data, subversion), found after the
    work was accepted by a test, a person, an AI or in production; the task or commit
    (contribution_id) that introduced it, when known."""
    return emit(
        "incident",
        {
            "incident_id": ev.label("incident_id", incident_id or uuid7()),
            "kind": ev.choice("kind", kind, ev.INCIDENT_KINDS),
            "severity": ev.choice("severity", severity, ev.SEVERITIES),
            "found_by": ev.optional_choice("found_by", found_by, ev.FINDERS),
            "introduced_by_task": ev.optional_label("introduced_by_task", introduced_by_task),
            "introduced_by_commit": ev.optional_label("introduced_by_commit", introduced_by_commit),
        },
        envelope,
    )


@guarded
def permission(
    agent: str,
    scope: str,
    action: str = "granted",
    *,
    granted_by: str,
    oversight: str | None = None,
    mode: str | None = None,
    session_id: str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> str | None:
    """A ``scope`` (repo_write, shell, job_submission, internet, secrets, production_deploy)
    ``granted`` to or ``revoked`` from ``agent`` acting for the actor, by a ``person`` or a
    ``policy``; ``oversight``: whether the agent still asks a person under it."""
    return emit(
        "permission",
        {
            "agent": ev.label("agent", agent),
            "scope": ev.choice("scope", scope, ev.PERMISSION_SCOPES),
            "action": ev.choice("action", action, ev.PERMISSION_ACTIONS),
            "granted_by": ev.choice("granted_by", granted_by, ev.GRANTERS),
            "oversight": ev.optional_choice("oversight", oversight, ev.OVERSIGHT_MODES),
            "mode": ev.optional_label("mode", mode),
            "session_id": ev.optional_label("session_id", session_id),
        },
        envelope,
    )


@guarded
def time_allocation(
    activity: str, *, minutes: float, origin: str = "survey", **envelope: Unpack[EnvelopeArgs]
) -> str | None:
    """Minutes of the actor's time spent ``directing_ai``, ``reviewing_ai`` or on ``own_work``,
    from a ``survey`` answer (the default), ``agent_telemetry`` or ``time_tracking``."""
    return emit(
        "time_allocation",
        {
            "activity": ev.choice("activity", activity, ev.TIME_ACTIVITIES),
            "minutes": ev.number("minutes", minutes),
            "origin": ev.choice("origin", origin, ev.TIME_ORIGINS),
        },
        envelope,
    )


@guarded
def line_survival(
    contribution_id: str, *, as_of: dt.datetime | str, lines_surviving: int, **envelope: Unpack[EnvelopeArgs]
) -> str | None:
    """How many of the merged commit ``contribution_id``'s added lines are still on the default
    branch at ``as_of`` (``autoscope git scan`` computes it with git blame)."""
    return emit(
        "line_survival",
        {
            "contribution_id": ev.label("contribution_id", contribution_id),
            "as_of": ev.timestamp("as_of", as_of),
            "lines_surviving": ev.integer("lines_surviving", lines_surviving),
        },
        envelope,
    )

"""A simulated lab: researchers in teams doing R&D work, more of it delegated to AI each week.

The plan is deterministic for a seed, event ids included, so running the demo twice sends the
same events and the warehouse keeps each once. Identities are realistic email addresses, so
the demo also shows them being pseudonymized before anything is stored.

What the simulator intends (and the tests check the indicators recover):

* AI's share of tasks rises every week (``ai_probability``: assigned by quota per team and
  week, so the rise is exact, not left to chance), and so does the size of the
  tasks delegated to AI and the horizon at which AI succeeds half the time;
* review of AI work becomes less frequent as trust grows;
* more experiment compute goes to AI-designed experiments (``designer_probability``);
* one team (``policy``) has fewer researchers than the k-anonymity threshold, so its cells
  must come out suppressed;
* merged code (issue 16): besides the contributions above, each researcher's git commits with
  their lines, class and whether they reached the default branch; the AI-authored share of
  those lines rises every week (``merged_code_ai_probability``), and AI-written lines survive
  less than human ones at first, converging later (``survival_probability``: the
  ``line_survival`` of each merged commit at the end of the next month and the next quarter);
* AI as reviewer (issue 16): an AI reviewer reviews more of the AI tasks every week
  (``ai_review_probability``), while people review fewer, so the share of AI tasks reviewed
  only by AI rises;
* coding agents get more leeway each week (:func:`_agent_work_events`): every researcher works
  with one agent (Claude Code, Codex or Gemini CLI) that holds repo write and shell from the
  start, then job submission, internet, secrets and (in infrastructure) production deploy, granted
  as the weeks pass, and whose approval mode moves from asking a person to a standing rule to
  never asking (:func:`agent_leeway`); the agent's tasks carry that mode as their review's
  oversight;
* errors escape into accepted work at rates set by who let the work through
  (:data:`ESCAPE_RATES`: person-reviewed AI work least often among AI work, never-asked AI work
  most often, human work less often than any AI work), found days later (within the simulated
  weeks) and named against the task or commit that introduced them; a few are AI subversion
  (:func:`_incident_events`);
* researchers spend more of their time directing and reviewing AI and less on their own work
  (``ai_directed_time_share``): every researcher answers the time survey in odd weeks with
  exactly that share of a 40-hour week (60 % of it directing, 40 % reviewing), and every week
  their coding agent reports the minutes they spent driving it (``agent_telemetry``, rising
  too); in even weeks the indicator has only that and review minutes, a lower bound;
* the capital share of R&D spend rises (``capital_share``): each researcher's staff cost is
  $4,000 a week and the compute spent for them is set so that compute / (compute + staff) is
  exactly ``capital_share(week)``; their AI-tool spend (a few dollars) adds a little on top.
  Staff cost is reported per person (the person is the spend's actor), as the capital share
  indicator needs (docs/indicators.md).
* teams fall in classes (:data:`DEFAULT_TEAM_CLASSES`: evals and policy are *safety*, the others
  *capabilities*) and AI's share of tasks differs by class (:data:`CLASS_AI_OFFSET`): safety
  teams delegate 5 points less each week than they would otherwise, so the class cut shows
  safety behind capabilities every week, while policy alone stays under k.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

from autoscope.core import contract

#: team → number of researchers; `policy` is deliberately below k = 5.
DEFAULT_TEAMS: dict[str, int] = {
    "pretraining": 12,
    "post-training": 11,
    "evals": 10,
    "infrastructure": 10,
    "policy": 3,
}
#: class → its teams, as the demo configures them (``[indicators.team_classes]``). Safety holds the
#: team under k (policy), so the class is shown where that team cannot be. Infrastructure is not a
#: class of its own: a class of one team is the team's cell, inherits its every suppression (the
#: demo's infrastructure weeks hidden to protect a straddling week), and each hidden class cell
#: then needs a second hidden class that week: with it, safety was hidden in 5 of 8 weeks.
DEFAULT_TEAM_CLASSES: dict[str, tuple[str, ...]] = {
    "safety": ("evals", "policy"),
    "capabilities": ("pretraining", "post-training", "infrastructure"),
}
#: class → points added to AI's share of its teams' tasks (``ai_probability``)
CLASS_AI_OFFSET: dict[str, float] = {"safety": -0.05}
DEFAULT_START = dt.date(2026, 8, 31)  # a Monday: ISO week 2026-W36
CATEGORIES = contract.CATEGORIES
RUNGS = contract.RUNGS  # lowest rung first: the simulation climbs them over the weeks
_FIRST = (
    "ada",
    "alan",
    "grace",
    "edsger",
    "barbara",
    "donald",
    "frances",
    "john",
    "katherine",
    "claude",
    "radia",
    "ken",
    "margaret",
    "tim",
    "shafi",
    "leslie",
)
_LAST = (
    "lovelace",
    "turing",
    "hopper",
    "dijkstra",
    "liskov",
    "knuth",
    "allen",
    "mccarthy",
    "johnson",
    "shannon",
    "perlman",
    "thompson",
    "hamilton",
    "berners-lee",
    "goldwasser",
)


@dataclasses.dataclass(frozen=True)
class Researcher:
    email: str
    team: str
    role: str


@dataclasses.dataclass(frozen=True)
class PlannedEvent:
    """One hook call the simulated lab will make: the event type and the hook's arguments."""

    type: str
    fields: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class LabPlan:
    researchers: list[Researcher]
    weeks: int
    start: dt.date
    events: list[PlannedEvent]

    def count_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event.type] = counts.get(event.type, 0) + 1
        return counts


def ai_probability(week: int, team: str) -> float:
    """The share of a team's tasks done by AI in simulated week ``week`` (0-based), offset by the
    team's class (:data:`CLASS_AI_OFFSET`)."""
    boost = 0.08 if team == "infrastructure" else 0.0
    team_class = next((c for c, teams in DEFAULT_TEAM_CLASSES.items() if team in teams), None)
    return min(0.85, 0.10 + 0.06 * week + boost + CLASS_AI_OFFSET.get(team_class, 0.0))


def ai_horizon_minutes(week: int) -> float:
    """Task length (human minutes) at which AI succeeds half the time; doubles every 4 weeks."""
    return 30.0 * 2 ** (week / 4)


def review_probability(week: int) -> float:
    return max(0.3, 0.9 - 0.05 * week)


def _event_id(rng: random.Random, when: dt.datetime) -> str:
    """A UUIDv7 whose time is ``when`` and whose random bits come from the seeded rng."""
    millis = int(when.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def _researchers(teams: dict[str, int], rng: random.Random) -> list[Researcher]:
    people = []
    used: set[str] = set()
    for team, size in teams.items():
        for i in range(size):
            while True:
                email = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}@lab.example"
                if email not in used:
                    break
                email = f"{email.split('@')[0]}{i}@lab.example"
                if email not in used:
                    break
            used.add(email)
            people.append(Researcher(email, team, "scientist" if i % 3 == 0 else "engineer"))
    return people


def _moment(rng: random.Random, start: dt.date, week: int) -> dt.datetime:
    day = start + dt.timedelta(weeks=week, days=rng.randrange(5))
    return dt.datetime.combine(day, dt.time(8), dt.UTC) + dt.timedelta(seconds=rng.randrange(10 * 3600))


def _executors(rng: random.Random, count: int, week: int, team: str) -> list[str]:
    """Executors for a team's ``count`` tasks of one week, by quota rather than by coin flip,
    so each team's AI share is the intended one (up to rounding) and rises every week."""
    n_ai = round(ai_probability(week, team) * count)
    n_mixed = min(count - n_ai, round(0.2 * count))
    executors = ["ai"] * n_ai + ["mixed"] * n_mixed + ["human"] * (count - n_ai - n_mixed)
    rng.shuffle(executors)
    return executors


def _task_events(
    rng: random.Random, person: Researcher, executor: str, week: int, start: dt.date, seq: Iterator[int]
) -> Iterator[PlannedEvent]:
    envelope = {"actor": person.email, "team": person.team}
    when = _moment(rng, start, week)
    category = rng.choice(CATEGORIES)
    if executor == "ai":
        minutes = math.exp(rng.gauss(math.log(20 * 2 ** (week / 5)), 1.0))
        odds = math.log2(ai_horizon_minutes(week)) - math.log2(minutes)
        outcome = "success" if rng.random() < 1 / (1 + math.exp(-1.2 * odds)) else "failure"
        rung = RUNGS[min(3, int(rng.random() * (1 + week / 3)))]
    else:
        minutes = math.exp(rng.gauss(math.log(90), 0.8))
        outcome = "success" if rng.random() < 0.9 else "failure"
        rung = rng.choice(RUNGS)
    if rng.random() < 0.03:
        outcome = "abandoned"
    task_id = f"task-{next(seq)}"
    yield PlannedEvent(
        "task",
        {
            **envelope,
            "event_id": _event_id(rng, when),
            "occurred_at": when,
            "task_id": task_id,
            "category": category,
            "executor": executor,
            "autonomy": "autonomous" if executor == "ai" and week > 4 else "supervised",
            "role": person.role,
            "rung": rung,
            "human_minutes": round(minutes, 2),
            "duration_s": round(minutes * (6 if executor == "ai" else 50), 1),
            "outcome": outcome,
            "model": "lab-model-7" if executor != "human" else None,
        },
    )
    if executor == "ai" and rng.random() < review_probability(week):
        for _ in range(1 if rng.random() < 0.8 else 2):
            later = when + dt.timedelta(minutes=rng.randrange(5, 600))
            yield PlannedEvent(
                "review",
                {
                    **envelope,
                    "event_id": _event_id(rng, later),
                    "occurred_at": later,
                    "task_id": task_id,
                    "reviewer": person.email,
                    "action": rng.choices(("approved", "modified", "rejected", "intervened"), (0.6, 0.25, 0.1, 0.05))[
                        0
                    ],
                    "minutes": round(rng.uniform(2, 30), 1),
                },
            )
    yield from _ai_review_events(person, executor, task_id, when, week)


#: the lab's AI reviewer (a review bot), an identity like any other: pseudonymized on the way in
AI_REVIEWER = "review-agent@lab.example"


def ai_review_probability(week: int) -> float:
    """The chance that the AI reviewer reviews an AI task of simulated week ``week``."""
    return min(0.8, 0.1 + 0.1 * week)


def _ai_review_events(
    person: Researcher, executor: str, task_id: str, when: dt.datetime, week: int
) -> Iterator[PlannedEvent]:
    """The AI reviewer's review of an AI task, if it reviews it. Drawn from an rng of its own
    (seeded by the task), so adding these reviews changes no other planned event."""
    rng = random.Random(f"ai-review/{task_id}")
    if executor != "ai" or rng.random() >= ai_review_probability(week):
        return
    later = when + dt.timedelta(minutes=rng.randrange(1, 60))
    yield PlannedEvent(
        "review",
        {
            "actor": person.email,
            "team": person.team,
            "event_id": _event_id(rng, later),
            "occurred_at": later,
            "task_id": task_id,
            "reviewer": AI_REVIEWER,
            "reviewer_kind": "ai",
            "action": rng.choices(("approved", "modified", "rejected"), (0.7, 0.2, 0.1))[0],
            "minutes": round(rng.uniform(0.5, 3), 1),
        },
    )


def designer_probability(week: int) -> float:
    """The share of experiments designed by AI in simulated week ``week``."""
    return min(0.7, 0.05 + 0.07 * week)


def _experiment_events(
    rng: random.Random, people: list[Researcher], week: int, start: dt.date, seq: Iterator[int]
) -> Iterator[PlannedEvent]:
    """The lab's experiments of one week; designers by quota, like task executors."""
    runners = [p for p in people for _ in range(rng.randint(1, 2))]
    n_ai = round(designer_probability(week) * len(runners))
    n_mixed = min(len(runners) - n_ai, round(0.2 * len(runners)))
    designers = ["ai"] * n_ai + ["mixed"] * n_mixed + ["human"] * (len(runners) - n_ai - n_mixed)
    rng.shuffle(designers)
    for person, designed_by in zip(runners, designers):
        when = _moment(rng, start, week)
        yield PlannedEvent(
            "experiment",
            {
                "actor": person.email,
                "team": person.team,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "experiment_id": f"exp-{next(seq)}",
                "designed_by": designed_by,
                "accelerator_hours": round(math.exp(rng.gauss(math.log(64), 0.4)), 2),
                "accelerator_type": "h100",
                "purpose": rng.choice(("ablation", "scaling", "eval", "sweep")),
            },
        )


def _weekly_events(
    rng: random.Random, person: Researcher, week: int, start: dt.date, seq: Iterator[int]
) -> Iterator[PlannedEvent]:
    """A researcher's week apart from tasks and experiments: commits, AI-tool spend, surveys."""
    envelope = {"actor": person.email, "team": person.team}
    for _ in range(rng.randint(1, 3)):
        when = _moment(rng, start, week)
        ai_first = rng.random() < min(0.6, 0.05 + 0.06 * week)
        yield PlannedEvent(
            "contribution",
            {
                **envelope,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "contribution_id": f"commit-{next(seq)}",
                "kind": "commit",
                "first_author": "ai" if ai_first else "human",
                "ai_share": round(rng.uniform(0.5, 1.0) if ai_first else rng.uniform(0.0, 0.5), 2),
            },
        )
    yield from _merged_code_events(person, week, start)
    when = _moment(rng, start, week)
    tokens_in = rng.randrange(50_000, 2_000_000)
    yield PlannedEvent(
        "spend",
        {
            **envelope,
            "event_id": _event_id(rng, when),
            "occurred_at": when,
            "category": "ai_tools",
            "amount_usd": round(tokens_in * 3e-6 * (1 + week / 4), 2),
            "model": "lab-model-7",
            "input_tokens": tokens_in,
            "output_tokens": tokens_in // 10,
        },
    )
    yield from _agent_work_events(rng, person, week, start, seq)
    if week % 4 == 3:
        yield PlannedEvent(
            "impression",
            {
                **envelope,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "question_id": "ai_speedup",
                "score": min(5, 1 + int(rng.random() * (2 + week / 2))),
                "tags": ["coding"] if rng.random() < 0.5 else [],
            },
        )


def merged_code_ai_probability(week: int) -> float:
    """The chance that a git commit of simulated week ``week`` is AI-authored (a further 20 % are
    AI-co-authored and 10 % AI-assisted; the rest are a person's alone)."""
    return min(0.5, 0.1 + 0.05 * week)


def survival_probability(line_class: str, week: int, horizon: str) -> float:
    """The share of a merged commit's added lines still present at the end of the month
    (``horizon`` month) or quarter after its own: human lines 90 % (85 % a quarter on); AI-written
    lines 60 % in the first week, five points more every week up to the human rate."""
    human = 0.9 if horizon == "month" else 0.85
    if line_class not in ("ai_authored", "ai_coauthored"):
        return human
    return min(human, 0.6 + 0.05 * week - (0.0 if horizon == "month" else 0.05))


def _period_end_after_next(moment: dt.datetime, months: int) -> dt.datetime:
    """The end of the period after the one ``moment`` is in (periods of ``months`` months:
    1 a month, 3 a quarter), as the first instant of the period after that."""
    first = (moment.month - 1) // months * months  # 0-based first month of moment's period
    index = moment.year * 12 + first + 2 * months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def _merged_code_events(person: Researcher, week: int, start: dt.date) -> Iterator[PlannedEvent]:
    """A researcher's git commits of one week, as ``autoscope git`` reports them (lines, class,
    default branch), and the survival of each merged one's lines at the end of the next month
    and quarter, as ``autoscope git scan --survival`` would count them. Drawn from an rng of its
    own (seeded by person and week), so these events change no other planned event."""
    rng = random.Random(f"merged-code/{person.email}/{week}")
    envelope = {"actor": person.email, "team": person.team}
    for _ in range(rng.randint(1, 2)):
        when = _moment(rng, start, week)
        draw = rng.random()
        p_ai = merged_code_ai_probability(week)
        line_class = (
            "ai_authored"
            if draw < p_ai
            else "ai_coauthored"
            if draw < p_ai + 0.2
            else "ai_assisted"
            if draw < p_ai + 0.3
            else "human"
        )
        first_author, ai_share = {
            "ai_authored": ("ai", 1.0),
            "ai_coauthored": ("human", 0.5),
            "ai_assisted": ("human", 0.2),
            "human": ("human", 0.0),
        }[line_class]
        lines = rng.randint(20, 400)
        merged = rng.random() < 0.85
        commit = f"git-{rng.getrandbits(64):016x}"
        yield PlannedEvent(
            "contribution",
            {
                **envelope,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "contribution_id": commit,
                "kind": "commit",
                "first_author": first_author,
                "ai_share": ai_share,
                "lines_added": lines,
                "lines_deleted": rng.randint(0, lines // 2),
                "line_class": line_class,
                "on_default_branch": merged,
            },
        )
        if not merged:
            continue
        for horizon, months in (("month", 1), ("quarter", 3)):
            # placed at its commit's time, as the scan places it (the count describes that commit)
            yield PlannedEvent(
                "line_survival",
                {
                    **envelope,
                    "event_id": _event_id(rng, when),
                    "occurred_at": when,
                    "contribution_id": commit,
                    "as_of": _period_end_after_next(when, months),
                    "lines_surviving": round(lines * survival_probability(line_class, week, horizon)),
                },
            )


#: the coding agent each researcher works with, and its own names for the three approval modes
#: (asks a person / a standing rule decides / never asks): Claude Code's permission modes, Codex's
#: approval policies, Gemini CLI's approval modes
AGENT_MODES: dict[str, dict[str, str]] = {
    "claude-code": {"person": "default", "rule": "acceptEdits", "never_asked": "bypassPermissions"},
    "codex": {"person": "on-request", "rule": "on-failure", "never_asked": "never"},
    "gemini-cli": {"person": "default", "rule": "autoEdit", "never_asked": "yolo"},
}
#: the chance that a unit of accepted work lets an error escape, by who let it through: an AI
#: task's oversight class, a human task, an AI or a human commit
ESCAPE_RATES: dict[str, float] = {
    "person": 0.03,
    "rule": 0.06,
    "no_decision": 0.08,
    "never_asked": 0.14,
    "human": 0.02,
    "ai_commit": 0.05,
    "human_commit": 0.02,
}


def _leaning(person: Researcher) -> float:
    """A researcher's fixed leaning in [0, 1): the lower, the sooner their agent gets leeway."""
    return zlib.crc32(person.email.encode()) / 2**32


def agent_leeway(person: Researcher, week: int) -> tuple[str, tuple[str, ...]]:
    """The approval mode (oversight: person, rule, never_asked) and the permission scopes the
    researcher's agent holds in ``week``: both widen as the weeks pass, sooner for a low leaning."""
    u = _leaning(person)
    mode = "never_asked" if u < min(0.35, 0.05 * week) else "rule" if u < min(0.7, 0.12 * week) else "person"
    scopes = ["repo_write", "shell"]
    if week >= 4 or (week >= 2 and u < 0.7):
        scopes.append("job_submission")
    if week >= 3 + int(4 * u):
        scopes.append("internet")
    if week >= 5 and u < 0.3:
        scopes.append("secrets")
    if person.team == "infrastructure" and week >= 5 and u < 0.6:
        scopes.append("production_deploy")
    return mode, tuple(scopes)


def agent_of(person: Researcher) -> str:
    return tuple(AGENT_MODES)[zlib.crc32(person.email.encode()[::-1]) % len(AGENT_MODES)]


def _agent_work_events(
    rng: random.Random, person: Researcher, week: int, start: dt.date, seq: Iterator[int]
) -> Iterator[PlannedEvent]:
    """A researcher's week with their coding agent: the grants that changed since last week
    (every held scope again when the approval mode changed), then one or two AI tasks done by
    the agent, each with the review its mode gives (a person's, most of the time; a rule's; or
    the agent's never-asked)."""
    envelope = {"actor": person.email, "team": person.team}
    agent = agent_of(person)
    mode, scopes = agent_leeway(person, week)
    before = agent_leeway(person, week - 1) if week else (None, ())
    granted = scopes if mode != before[0] else tuple(s for s in scopes if s not in before[1])
    monday = dt.datetime.combine(start + dt.timedelta(weeks=week), dt.time(7), dt.UTC)
    for scope in granted:
        when = monday + dt.timedelta(seconds=rng.randrange(3600))
        yield PlannedEvent(
            "permission",
            {
                **envelope,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "agent": agent,
                "scope": scope,
                "action": "granted",
                "granted_by": "policy" if mode == "rule" else "person",
                "oversight": mode,
                "mode": AGENT_MODES[agent][mode],
                "tool": agent,
            },
        )
    for _ in range(rng.randint(1, 2)):
        when = _moment(rng, start, week)
        minutes = math.exp(rng.gauss(math.log(25), 0.7))
        task_id = f"task-{next(seq)}"
        yield PlannedEvent(
            "task",
            {
                **envelope,
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "task_id": task_id,
                "category": rng.choice(("experiment_run", "analysis")),
                "executor": "ai",
                "autonomy": "autonomous" if mode == "never_asked" else "supervised",
                "role": person.role,
                "rung": "engineering",
                "human_minutes": round(minutes, 2),
                "duration_s": round(minutes * 6, 1),
                "outcome": "success" if rng.random() < 0.85 else "failure",
                "model": "lab-model-7",
                "tool": agent,
            },
        )
        if mode == "person" and rng.random() >= 0.85:
            continue  # the person did not get to it
        later = when + dt.timedelta(minutes=rng.randrange(1, 120))
        yield PlannedEvent(
            "review",
            {
                **envelope,
                "event_id": _event_id(rng, later),
                "occurred_at": later,
                "task_id": task_id,
                "reviewer": person.email,
                "action": rng.choices(("approved", "modified", "rejected"), (0.8, 0.15, 0.05))[0]
                if mode == "person"
                else "approved",
                "minutes": round(rng.uniform(2, 20), 1) if mode == "person" else 0.0,
                "oversight": mode,
                "tool": agent,
            },
        )


def _incident_events(rng: random.Random, events: list[PlannedEvent], end: dt.datetime) -> Iterator[PlannedEvent]:
    """Errors that escaped from the lab's accepted work, at :data:`ESCAPE_RATES` by who let the
    work through, each found 1–21 days after the work (and before ``end``) by its author. Git
    shows those in commits as reverts and fixes (found by nobody said); a tenth of those in AI
    tasks nobody reviewed are subversion."""
    oversight: dict[str, set[str]] = {}
    for event in events:
        if event.type == "review":
            mode = event.fields.get("oversight") or "person"
            if mode == "person" and event.fields.get("reviewer_kind") == "ai":
                continue  # an AI reviewer's approval is not a person's oversight
            oversight.setdefault(event.fields["task_id"], set()).add(mode)
    for number, event in enumerate(list(events)):
        f = event.fields
        if event.type == "task" and f["executor"] in ("ai", "human"):
            modes = oversight.get(f["task_id"], set())
            unit = (
                "human"
                if f["executor"] == "human"
                else next((m for m in ("person", "rule", "never_asked") if m in modes), "no_decision")
            )
            work = {"introduced_by_task": f["task_id"]}
        elif event.type == "contribution" and f["first_author"] in ("ai", "human"):
            unit, work = f"{f['first_author']}_commit", {"introduced_by_commit": f["contribution_id"]}
        else:
            continue
        if rng.random() >= ESCAPE_RATES[unit]:
            continue
        when = min(f["occurred_at"] + dt.timedelta(days=rng.uniform(1, 21)), end)
        if unit.endswith("_commit"):
            kind, found_by = rng.choice(("revert", "defect")), None
        elif unit in ("never_asked", "no_decision") and rng.random() < 0.1:
            kind, found_by = "subversion", rng.choice(("person", "ai"))
        else:
            kind = rng.choices(("defect", "security", "data"), (0.75, 0.12, 0.13))[0]
            found_by = rng.choices(("test", "person", "ai", "production"), (0.35, 0.3, 0.15, 0.2))[0]
        yield PlannedEvent(
            "incident",
            {
                "actor": f["actor"],
                "team": f["team"],
                "event_id": _event_id(rng, when),
                "occurred_at": when,
                "incident_id": f"incident-{number}",
                "kind": kind,
                "severity": rng.choices(("low", "medium", "high", "critical"), (0.5, 0.3, 0.15, 0.05))[0],
                "found_by": found_by,
                **work,
            },
        )


def ai_directed_time_share(week: int) -> float:
    """The share of a researcher's time spent directing and reviewing AI in week ``week``."""
    return min(0.6, 0.15 + 0.05 * week)


def agent_driving_minutes(week: int) -> float:
    """The mean minutes a week a researcher's coding agent reports them actively driving it."""
    return 120.0 + 45.0 * week


#: a researcher's weekly staff cost (USD) and survey week (minutes)
STAFF_COST_PER_WEEK = 4000.0
SURVEY_WEEK_MINUTES = 2400.0


def capital_share(week: int) -> float:
    """compute / (compute + staff) of the lab's spend in week ``week``."""
    return min(0.7, 0.30 + 0.04 * week)


def _time_and_cost_events(person: Researcher, week: int, start: dt.date) -> Iterator[PlannedEvent]:
    """A researcher's time allocation (survey answers in odd weeks, agent telemetry every week)
    and the week's staff and compute cost. Its own random stream (seeded by person and week), so
    that these events leave every other event of the plan as it was."""
    rng = random.Random(f"time-and-cost/{person.email}/{week}")
    envelope = {"actor": person.email, "team": person.team}

    def event(kind: str, **fields: Any) -> PlannedEvent:
        when = _moment(rng, start, week)
        return PlannedEvent(kind, {**envelope, "event_id": _event_id(rng, when), "occurred_at": when, **fields})

    driving = round(agent_driving_minutes(week) * rng.uniform(0.8, 1.2), 1)
    yield event("time_allocation", activity="directing_ai", minutes=driving, origin="agent_telemetry")
    if week % 2 == 1:
        share = ai_directed_time_share(week)
        for activity, minutes in (
            ("directing_ai", SURVEY_WEEK_MINUTES * share * 0.6),
            ("reviewing_ai", SURVEY_WEEK_MINUTES * share * 0.4),
            ("own_work", SURVEY_WEEK_MINUTES * (1 - share)),
        ):
            yield event("time_allocation", activity=activity, minutes=round(minutes, 1), origin="survey")
    yield event("spend", category="staff", amount_usd=STAFF_COST_PER_WEEK)
    share = capital_share(week)
    yield event("spend", category="compute", amount_usd=round(STAFF_COST_PER_WEEK * share / (1 - share), 2))


def plan_lab(
    seed: int = 7,
    teams: dict[str, int] | None = None,
    weeks: int = 8,
    start: dt.date = DEFAULT_START,
) -> LabPlan:
    """The whole simulated lab's activity, deterministic for ``seed``."""
    rng = random.Random(seed)
    researchers = _researchers(teams or DEFAULT_TEAMS, rng)
    counter = iter(range(1, 10**9))
    events: list[PlannedEvent] = []
    for week in range(weeks):
        for team in dict.fromkeys(p.team for p in researchers):
            slots = [p for p in researchers if p.team == team for _ in range(rng.randint(5, 9))]
            for person, executor in zip(slots, _executors(rng, len(slots), week, team)):
                events.extend(_task_events(rng, person, executor, week, start, counter))
        events.extend(_experiment_events(rng, researchers, week, start, counter))
        for person in researchers:
            events.extend(_weekly_events(rng, person, week, start, counter))
            events.extend(_time_and_cost_events(person, week, start))
    lead = researchers[0]
    for index, internal_week in enumerate(range(0, weeks, 3)):
        internal = dt.datetime.combine(start + dt.timedelta(weeks=internal_week), dt.time(12), dt.UTC)
        public = internal + dt.timedelta(days=20 + 5 * index) if internal_week + 3 < weeks else None
        events.append(
            PlannedEvent(
                "model_deployment",
                {
                    "actor": lead.email,
                    "team": lead.team,
                    "event_id": _event_id(rng, internal),
                    "occurred_at": internal,
                    "model_id": f"lab-model-{index + 5}",
                    "internal_at": internal,
                    "public_at": public,
                },
            )
        )
        events.append(
            PlannedEvent(
                "training_milestone",
                {
                    "actor": lead.email,
                    "team": lead.team,
                    "event_id": _event_id(rng, internal),
                    "occurred_at": internal,
                    "run_id": f"run-{index + 1}",
                    "recipe": "dense-7b",
                    "target_loss": 2.2,
                    "compute_to_target": 4e21 / (1.3**index),
                    "baseline_run_id": "run-1" if index else None,
                },
            )
        )
    last_friday = dt.datetime.combine(start + dt.timedelta(weeks=weeks - 1, days=4), dt.time(18), dt.UTC)
    events.extend(_incident_events(rng, events, last_friday))
    events.sort(key=lambda e: e.fields["occurred_at"])
    return LabPlan(researchers, weeks, start, events)

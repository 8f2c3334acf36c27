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
    events.sort(key=lambda e: e.fields["occurred_at"])
    return LabPlan(researchers, weeks, start, events)

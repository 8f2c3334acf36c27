"""An exact differencing audit: can a reader compute a suppressed cell's count from what was
released?

The unknowns are *atoms*: how many events of each kind fell on each day (kinds: team × rung ×
executor × size mark, the mark saying whether ``human_minutes`` was stated for the task or filled
in from a configured default). A suppressed cell's count is disclosed exactly when its vector of
atoms lies in the row space of the released equations (then some combination of released
numbers equals it, whatever the data). This is independent of how ``pipelines/anonymize.py``
decides: it knows nothing of groups.

What a released row says, as equations over atoms (:func:`released_equations`):

* its ``n_events`` is a count (:data:`N_EVENTS`: all of the cell's tasks, or its AI tasks);
* a share ``p`` is ``numerator / denominator`` of two counts of the cell (:data:`SHARES`). Where
  the cell states its denominator outright (:data:`STATED`: automation share's n_events and
  ``unknown_share × n_events`` give its tasks of a known executor too) the share gives its
  numerator as a count, ``p × denominator``. Where it does not (the ladder's ``ai_share`` is AI
  tasks over tasks of a *known* executor, and the ladder says nothing of unknown ones) the share
  is the homogeneous equation ``numerator − p × denominator = 0``, which holds whatever the
  denominator is: exactly what the reader learns, no more. A share shown as NULL (released, no
  value) says its denominator is 0;
* a cell that is absent from the release is known to be empty: none of its atoms had an event
  (task size's cell absent where automation share has it: none of its AI atoms).

Linear, as the guarantee is: the audit does not add what the sign of counts tells inside a
*released* cell. A released share of 0 or 1, or a NULL one (all tasks of an unknown executor),
says that no part of that cell — suppressed parts included — had tasks of the other kind
(a suppressed week inside a month released as 100 % AI had no human task). That is the
homogeneity of a released group, which k-anonymity does not hide and ``anonymize.py`` does not
claim to; no suppressed cell's count can be worked out by differencing, which is what it claims.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from autoscope.pipelines.periods import bounds, label

Cell = tuple[str, str, str, str]  # period_type, period, cut, cut_value
#: which of a cell's tasks a count is of: (executor, size mark); None = any. Executor ``known``
#: is every executor but ``unknown``; size mark ``default`` is a size filled in from a default.
Kind = tuple[str | None, str | None]
ALL: Kind = (None, None)
AI: Kind = ("ai", None)
KNOWN: Kind = ("known", None)
#: a count that is 0 in every generated data set (incidents, commits, permission grants: the
#: audit's data sets hold tasks only)
NOTHING: Kind = ("nothing", None)

#: indicator → the count its n_events is
N_EVENTS: dict[str, Kind] = {
    "automation_share": ALL,
    "ladder": ALL,
    "task_size": AI,
    "review_frequency": AI,
    "ai_review": AI,
    "tasks_involved": AI,
    "escaped_errors": AI,
    "agent_permissions": AI,
}
#: (indicator, metric) → (numerator, denominator, complement): the share is numerator /
#: denominator, or 1 − that when ``complement`` (``measured_share`` = 1 − default-sized / all)
SHARES: dict[tuple[str, str], tuple[Kind, Kind, bool]] = {
    ("automation_share", "ai_share"): (AI, KNOWN, False),
    ("automation_share", "mixed_share"): (("mixed", None), KNOWN, False),
    ("automation_share", "human_share"): (("human", None), KNOWN, False),
    ("automation_share", "unknown_share"): (("unknown", None), ALL, False),
    ("automation_share", "measured_share"): (("known", "default"), KNOWN, True),
    ("task_size", "measured_share"): (("ai", "default"), AI, True),
    ("ladder", "ai_share"): (AI, KNOWN, False),
    # over tasks alone, escaped errors' rates are 0 over their units (NULL where there are none:
    # that says the units' count is 0) and its shares over errors are NULL; agent permissions'
    # shares are 0 over the AI tasks, but the share without a known grant, which is all of them
    **{
        ("escaped_errors", m): (NOTHING, AI, False)
        for m in ("escaped_per_100_ai_tasks", "escaped_per_100_ai_tasks_no_decision", "subversion_per_100_ai_tasks")
    },
    **{
        ("escaped_errors", f"escaped_per_100_ai_tasks_{m}"): (NOTHING, NOTHING, False)
        for m in ("person_reviewed", "rule_approved", "never_asked")
    },
    ("escaped_errors", "escaped_per_100_human_tasks"): (NOTHING, ("human", None), False),
    ("escaped_errors", "escaped_per_100_ai_commits"): (NOTHING, NOTHING, False),
    ("escaped_errors", "escaped_per_100_human_commits"): (NOTHING, NOTHING, False),
    **{
        ("escaped_errors", f"{m}_share"): (NOTHING, NOTHING, False)
        for m in (
            *(f"kind_{k}" for k in ("defect", "revert", "security", "data", "subversion")),
            *(f"found_by_{f}" for f in ("test", "person", "ai", "production")),
            "severe",
        )
    },
    **{
        ("agent_permissions", f"share_under_{s}"): (NOTHING, AI, False)
        for s in ("repo_write", "shell", "job_submission", "internet", "secrets", "production_deploy", "no_approval")
    },
    ("agent_permissions", "share_without_known_grant"): (AI, AI, False),
}
#: indicator → the counts one released cell of it states outright (n_events, and what follows
#: from it and the cell's shares over it: known = n_events − unknown_share × n_events)
STATED: dict[str, set[Kind]] = {
    "automation_share": {ALL, ("unknown", None), KNOWN},
    "ladder": {ALL},
    "task_size": {AI},
    "review_frequency": {AI},
    "ai_review": {AI},
    "tasks_involved": {AI},
    "escaped_errors": {AI},
    "agent_permissions": {AI},
}
#: metrics of those indicators that release no further count over these atoms: every task of
#: the generated data takes 10 minutes and succeeds (so time_weighted_ai_share is ai_share,
#: the quantiles and shares over 1 h are constants), is its own task_id with no review and is
#: of one category (so tasks involved's ``share_``/``change_`` rows are 1 or 0); with no review
#: there is no oversight either, so review frequency's person/rule/never-asked shares are 0, and
#: AI as reviewer's shares are 0 or NULL (no review by anyone); highest_rung is a rank, not a count
UNMODELLED = {
    "time_weighted_ai_share",
    "median_minutes",
    "p90_minutes",
    "share_over_1h",
    "share_over_8h",
    "share_over_40h",
    "highest_rung",
    "reviews_per_ai_task",
    "unreviewed_share",
    "person_reviewed_share",
    "rule_approved_share",
    "never_asked_share",
    "intervention_rate",
    "review_minutes_per_ai_task",
    "ai_review_share",
    "ai_reviewed_share",
    "ai_only_reviewed_share",
    # counts of agents holding a scope: 0 without grants
    "agents_with_internet",
    "agents_with_secrets",
    "agents_with_production_deploy",
    "agents_with_broad_scope",
}


@dataclasses.dataclass(frozen=True)
class Atoms:
    """The event kinds (team, rung, executor, size mark) and days of a data set, indexed as columns."""

    teams: Sequence[str]
    rungs: Sequence[str]
    executors: Sequence[str]
    first_day: dt.date
    days: int
    sizes: Sequence[str] = ("stated",)
    #: team → class (the ``team_class`` cut; a team not listed is ``unclassified``)
    classes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        kinds = list(itertools.product(self.teams, self.rungs, self.executors, self.sizes, range(self.days)))
        object.__setattr__(self, "index", {kind: i for i, kind in enumerate(kinds)})
        # per column, its team, rung, executor, size mark and day (for vector's masks)
        object.__setattr__(self, "columns", [np.array(c) for c in zip(*kinds)])

    def class_of(self, team: str) -> str:
        return dict(self.classes).get(team, "unclassified")

    def values(self, cut: str) -> list[str]:
        """The values a cut can take: its parts of the lab cell."""
        if cut == "team_class":
            return sorted({self.class_of(t) for t in self.teams})
        return list(self.teams if cut == "team" else self.rungs)

    def day_columns(self, day: int) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.columns[4] == day)]  # type: ignore[attr-defined]

    def vector(self, cell: Cell, executor: str | None = None, size: str | None = None) -> np.ndarray:
        """The atoms summed by ``cell`` (only ``executor``'s — ``known``: every executor but
        ``unknown`` — and only those of size mark ``size``, if given)."""
        period_type, period, cut, value = cell
        start, end = bounds(period_type, period)
        first = max(0, (start.date() - self.first_day).days)
        last = min(self.days, (end.date() - self.first_day).days)
        team, rung, exe, mark, day = self.columns  # type: ignore[attr-defined]
        keep = (first <= day) & (day < last)
        if size is not None:
            keep &= mark == size
        if executor == "nothing":
            keep &= False
        elif executor == "known":
            keep &= exe != "unknown"
        elif executor is not None:
            keep &= exe == executor
        if cut == "team":
            keep &= team == value
        elif cut == "rung":
            keep &= rung == value
        elif cut == "team_class":
            keep &= np.isin(team, [t for t in self.teams if self.class_of(t) == value])
        return keep.astype(float)

    def count(self, cell: Cell, kind: Kind) -> np.ndarray:
        return self.vector(cell, *kind)


def _is_count(row: np.ndarray) -> bool:
    """A row that states one count (its nonzero coefficients all alike), not a relation."""
    nonzero = row[row != 0]
    return bool(nonzero.size) and bool(np.all(nonzero == nonzero[0]))


def disclosed(atoms: Atoms, equations: Iterable[np.ndarray], secrets: dict[str, np.ndarray]) -> list[str]:
    """The names of ``secrets`` (atom vectors) that are linear combinations of ``equations``.

    A secret that is one of the released counts is not counted: the same count was released by
    another indicator, in a cell that passed k there (a cell suppressed only to shield another
    may have its count shown by an indicator that shields differently).

    Two reductions keep the decomposition small and change no answer: atoms a unit equation
    fixes (the days known to be empty) are taken out of every equation and secret (a vector is in
    the span of the unit rows and the others exactly when its remaining part is in the span of
    the others' remaining parts); and atoms that every equation and secret treat alike (the days
    of one piece of a week inside a month) are merged into one column (every vector involved
    lies in the subspace where they are equal, on which merging them is one-to-one)."""
    rows = [e for e in equations if e.any()]
    if not rows:
        return []
    shown = {tuple(np.flatnonzero(e)) for e in rows if _is_count(e)}
    secrets = {name: v for name, v in secrets.items() if v.any() and tuple(np.flatnonzero(v)) not in shown}
    if not secrets:
        return []
    fixed = np.zeros(len(rows[0]), dtype=bool)
    for e in rows:
        if np.count_nonzero(e) == 1:
            fixed |= e != 0
    names = list(secrets)
    stacked = np.vstack([*rows, *(secrets[n] for n in names)])[:, ~fixed]
    stacked = np.unique(stacked, axis=1)  # identical columns merged
    matrix, wanted = stacked[: len(rows)], stacked[len(rows) :]
    matrix = matrix[matrix.any(axis=1)]
    if not matrix.size:
        return [n for n, v in zip(names, wanted) if not v.any()]
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    basis = vt[: int((singular > 1e-9 * singular[0]).sum())]
    return [
        n
        for n, v in zip(names, wanted)
        if np.linalg.norm(v - basis.T @ (basis @ v)) < 1e-6 * max(1.0, np.linalg.norm(v))
    ]


def _empty(row: np.ndarray) -> list[np.ndarray]:
    """An absent cell: it had no events of any kind on any day, so every atom it sums is 0
    (one unit equation each), not only their total."""
    return [np.eye(1, len(row), i).ravel() for i in np.flatnonzero(row)]


def _share_equation(atoms: Atoms, cell: Cell, indicator: str, metric: str, value: float | None) -> np.ndarray:
    """What one released share of ``cell`` says (module docstring)."""
    numerator, denominator, complement = SHARES[(indicator, metric)]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return atoms.count(cell, denominator)  # NULL: the denominator is 0
    p = 1.0 - value if complement else value
    if denominator in STATED[indicator]:
        return atoms.count(cell, numerator)  # p × a count the reader has
    return atoms.count(cell, numerator) - p * atoms.count(cell, denominator)


def assert_model_matches(frame: pl.DataFrame, atoms: Atoms, truth: np.ndarray, cuts: Sequence[str]) -> None:
    """The model is exact for this release: with ``truth`` (the data set's atoms), every
    released n_events is its count (:data:`N_EVENTS`) and every released share is its
    numerator over its denominator (:data:`SHARES`), NULL where that denominator is 0."""
    for r in frame.filter(
        ~pl.col("suppressed") & pl.col("cut").is_in(["lab", *cuts]) & pl.col("indicator").is_in(list(N_EVENTS))
    ).iter_rows(named=True):
        cell = (r["period_type"], r["period"], r["cut"], r["cut_value"])
        where = f"{r['indicator']}.{r['metric']} {cell}"
        assert r["n_events"] == atoms.count(cell, N_EVENTS[r["indicator"]]) @ truth, f"{where}: n_events"
        if (r["indicator"], r["metric"]) not in SHARES:
            continue
        numerator, denominator, complement = SHARES[(r["indicator"], r["metric"])]
        num, den = atoms.count(cell, numerator) @ truth, atoms.count(cell, denominator) @ truth
        if den == 0:
            assert r["value"] is None, f"{where}: a share over nothing is NULL"
        else:
            assert r["value"] is not None and math.isclose(
                r["value"], 1 - num / den if complement else num / den, abs_tol=1e-12
            ), f"{where}: {r['value']} ≠ {num}/{den}"


def released_equations(frame: pl.DataFrame, atoms: Atoms, cuts: Sequence[str]) -> list[np.ndarray]:
    """What the task indicators of ``frame`` tell a reader, as equations over ``atoms``: each
    released row's n_events and shares (module docstring); every absent cell is empty."""
    rows: list[np.ndarray] = []
    present: dict[str, set[Cell]] = {}
    for r in frame.iter_rows(named=True):
        cell = (r["period_type"], r["period"], r["cut"], r["cut_value"])
        present.setdefault(r["indicator"], set()).add(cell)
        if r["suppressed"] or r["cut"] not in ("lab", *cuts) or r["indicator"] not in N_EVENTS:
            continue
        rows.append(atoms.count(cell, N_EVENTS[r["indicator"]]))
        if (r["indicator"], r["metric"]) in SHARES:
            rows.append(_share_equation(atoms, cell, r["indicator"], r["metric"], r["value"]))
        elif r["metric"] not in UNMODELLED and not r["metric"].startswith(("share_", "change_")):
            raise AssertionError(f"{r['indicator']}.{r['metric']} releases something the audit does not model")
    shown_periods = {(pt, p) for pt, p, cut, _ in present.get("automation_share", set()) if cut == "lab"}
    for (pt, p), cut in itertools.product(shown_periods, cuts):
        for value in atoms.values(cut):
            cell = (pt, p, cut, value)
            if cell not in present.get("automation_share", set()):
                rows += _empty(atoms.vector(cell))
            elif cell not in present.get("task_size", set()):
                rows += _empty(atoms.vector(cell, "ai"))
    for day in range(atoms.days):  # a day in no released period at all had no events
        when = atoms.first_day + dt.timedelta(days=day)
        if any((pt, label(pt, when)) not in shown_periods for pt in ("week", "month", "quarter")):
            for i in atoms.day_columns(day):
                unit = np.zeros(len(atoms.index))  # type: ignore[attr-defined]
                unit[i] = 1.0
                rows.append(unit)
    return rows

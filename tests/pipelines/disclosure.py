"""An exact differencing audit: can a reader compute a suppressed cell's count from what was
released?

The unknowns are *atoms*: how many events of each kind fell on each day (kinds: team × rung ×
executor). Every released count is a known sum of atoms — a cell's n_events, and ``share ×
n_events`` for a share — and a cell that is absent from the release is known to be empty. A
suppressed cell's count is disclosed exactly when its vector of atoms lies in the row space of
those equations (then some combination of released numbers equals it, whatever the data).
This is independent of how ``pipelines/anonymize.py`` decides: it knows nothing of groups.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from autoscope.pipelines.periods import bounds, label

Cell = tuple[str, str, str, str]  # period_type, period, cut, cut_value


@dataclasses.dataclass(frozen=True)
class Atoms:
    """The event kinds (team, rung, executor) and days of a data set, indexed as columns."""

    teams: Sequence[str]
    rungs: Sequence[str]
    executors: Sequence[str]
    first_day: dt.date
    days: int

    def __post_init__(self) -> None:
        kinds = itertools.product(self.teams, self.rungs, self.executors, range(self.days))
        object.__setattr__(self, "index", {kind: i for i, kind in enumerate(kinds)})

    def day_columns(self, day: int) -> list[int]:
        return [i for (_, _, _, d), i in self.index.items() if d == day]  # type: ignore[attr-defined]

    def vector(self, cell: Cell, executor: str | None = None) -> np.ndarray:
        """The atoms summed by ``cell`` (only ``executor``'s, if given)."""
        period_type, period, cut, value = cell
        start, end = bounds(period_type, period)
        first = max(0, (start.date() - self.first_day).days)
        last = min(self.days, (end.date() - self.first_day).days)
        out = np.zeros(len(self.index))  # type: ignore[attr-defined]
        for (team, rung, exe, day), i in self.index.items():  # type: ignore[attr-defined]
            if not first <= day < last or (executor is not None and exe != executor):
                continue
            if (cut == "team" and team != value) or (cut == "rung" and rung != value):
                continue
            out[i] = 1.0
        return out


def disclosed(atoms: Atoms, equations: Iterable[np.ndarray], secrets: dict[str, np.ndarray]) -> list[str]:
    """The names of ``secrets`` (atom vectors) that are linear combinations of ``equations``.

    A secret that is one of the equations is not counted: the same count was released by
    another indicator, in a cell that passed k there (a cell suppressed only to shield another
    may have its count shown by an indicator that shields differently)."""
    rows = [e for e in equations if e.any()]
    if not rows:
        return []
    shown = {tuple(np.flatnonzero(e)) for e in rows}
    secrets = {name: v for name, v in secrets.items() if tuple(np.flatnonzero(v)) not in shown}
    matrix = np.vstack(rows)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    basis = vt[: int((singular > 1e-9 * singular[0]).sum())]
    return [name for name, v in secrets.items()
            if v.any() and np.linalg.norm(v - basis.T @ (basis @ v)) < 1e-6 * max(1.0, np.linalg.norm(v))]


def released_equations(frame: pl.DataFrame, atoms: Atoms, cuts: Sequence[str]) -> list[np.ndarray]:
    """What the task indicators of ``frame`` tell a reader, as equations over ``atoms``:
    automation share's n_events and ``share × n_events`` per executor; task size's, review
    frequency's and tasks involved's n_events (AI tasks); the ladder's n_events, and its AI
    tasks by rung; every absent cell is empty."""
    rows: list[np.ndarray] = []
    present: dict[str, set[Cell]] = {}
    for r in frame.iter_rows(named=True):
        cell = (r["period_type"], r["period"], r["cut"], r["cut_value"])
        present.setdefault(r["indicator"], set()).add(cell)
        if r["suppressed"] or r["cut"] not in ("lab", *cuts):
            continue
        if r["indicator"] == "automation_share" and r["metric"] in ("ai_share", "mixed_share", "human_share"):
            rows.append(atoms.vector(cell))
            rows.append(atoms.vector(cell, r["metric"].split("_")[0]))
        elif r["indicator"] in ("task_size", "review_frequency", "tasks_involved"):
            rows.append(atoms.vector(cell, "ai"))
        elif r["indicator"] == "ladder" and r["metric"] == "ai_share":  # lab and rung cells
            rows.append(atoms.vector(cell))
            rows.append(atoms.vector(cell, "ai"))
        elif r["indicator"] == "ladder" and r["metric"] == "highest_rung":  # lab and team: its n_events
            rows.append(atoms.vector(cell))
    shown_periods = {(pt, p) for pt, p, cut, _ in present.get("automation_share", set()) if cut == "lab"}
    for (pt, p), cut in itertools.product(shown_periods, cuts):
        values = atoms.teams if cut == "team" else atoms.rungs
        for value in values:
            cell = (pt, p, cut, value)
            if cell not in present.get("automation_share", set()):
                rows.append(atoms.vector(cell))
            elif cell not in present.get("task_size", set()):
                rows.append(atoms.vector(cell, "ai"))
    for day in range(atoms.days):  # a day in no released period at all had no events
        when = atoms.first_day + dt.timedelta(days=day)
        if any((pt, label(pt, when)) not in shown_periods for pt in ("week", "month", "quarter")):
            for i in atoms.day_columns(day):
                unit = np.zeros(len(atoms.index))  # type: ignore[attr-defined]
                unit[i] = 1.0
                rows.append(unit)
    return rows

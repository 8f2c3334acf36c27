"""Property: for any data set, no released cell rests on fewer than k actors (k = 5), and no
suppressed cell can be computed from the released ones — not by differencing one total, not by
any linear combination of everything released together (every cut, every period of week, month
and quarter, every task indicator): an exact audit by linear algebra (``disclosure.py``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autoscope.pipelines.anonymize import apply_k_threshold
from autoscope.pipelines.indicators import automation_share
from autoscope.pipelines.indicators.cells import Scope
from autoscope.pipelines.jobs import compute_indicators
from autoscope.pipelines.periods import label, parent
from autoscope.warehouse.schema import migrate
from tests.sizes import examples

from .disclosure import AI, ALL, KNOWN, Atoms, Kind, assert_model_matches, disclosed, released_equations

# every example solves a release's linear equations: minutes at full size
pytestmark = pytest.mark.slow

K = 5
START = dt.datetime(2026, 9, 14, 10)  # weeks crossing a month end and a quarter end
CUTS = ("team", "rung")
#: team classes the data sets are cut by too (team → class; d, where not listed, is
#: ``unclassified``): none; several teams per class; every team in one class (the class cell is
#: the lab cell); a class of one team (its cell is the team's); a class per team
CLASSINGS: list[tuple[tuple[str, str], ...]] = [
    (),
    (("a", "safety"), ("b", "safety"), ("c", "capabilities")),
    (("a", "safety"), ("b", "safety"), ("c", "safety"), ("d", "safety")),
    (("a", "safety"),),
    (("a", "w"), ("b", "x"), ("c", "y"), ("d", "z")),
]
classings = st.sampled_from(CLASSINGS)


def class_of(team: str, classes: tuple[tuple[str, str], ...]) -> str:
    return dict(classes).get(team, "unclassified")


def cuts_of(classes: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return (*CUTS, "team_class") if classes else CUTS


events = st.lists(
    st.tuples(
        st.integers(0, 14),  # actor
        st.sampled_from(["a", "b", "c", "d"]),  # team
        st.sampled_from(["engineering", "experiments", "ideation"]),  # rung
        st.integers(0, 40),  # day offset
    ),
    min_size=1,
    max_size=120,
)


def event_sets(
    rows: list[tuple[int, str, str, int]], classes: tuple[tuple[str, str], ...] = ()
) -> dict[tuple[str, str, str, str], set[int]]:
    """(period_type, period, cut, cut_value) → the events (row numbers) in that cell."""
    out: dict[tuple[str, str, str, str], set[int]] = defaultdict(set)
    for i, (_, team, rung, day) in enumerate(rows):
        when = START + dt.timedelta(days=day)
        for pt in ("week", "month", "quarter"):
            p = label(pt, when)
            cuts = [("lab", "all"), ("team", team), ("rung", rung)]
            if classes:
                cuts.append(("team_class", class_of(team, classes)))
            for cut, value in cuts:
                out[(pt, p, cut, value)].add(i)
    return out


def actor_sets(
    rows: list[tuple[int, str, str, int]], classes: tuple[tuple[str, str], ...] = ()
) -> dict[tuple[str, str, str, str], set[int]]:
    """(period_type, period, cut, cut_value) → the actors behind that cell."""
    return {cell: {rows[i][0] for i in members} for cell, members in event_sets(rows, classes).items()}


def check(
    frame: pl.DataFrame, rows: list[tuple[int, str, str, int]], classes: tuple[tuple[str, str], ...] = ()
) -> None:
    """No released cell under k; and where a released total is exactly the sum of its parts
    (a cut of the lab; the teams of a class; months of a quarter; the weeks of a month when no
    week straddles its ends with events), what it minus its released parts gives rests on at
    least k actors."""
    actors, members_of = actor_sets(rows, classes), event_sets(rows, classes)
    status = {
        (r["period_type"], r["period"], r["cut"], r["cut_value"]): r["suppressed"]
        for r in frame.select(["period_type", "period", "cut", "cut_value", "suppressed"])
        .unique()
        .iter_rows(named=True)
    }
    assert set(status) == set(actors), "every cell is present, suppressed or not"
    for key, suppressed in status.items():
        if not suppressed:
            assert len(actors[key]) >= K, f"released cell {key} rests on {len(actors[key])} actors"
    # groups: parts of a cut under the lab total; months under a quarter; weeks under a month
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for pt, p, cut, value in status:
        if cut != "lab":
            groups[(pt, p, "lab", "all")].append((pt, p, cut, value))
        if cut == "team" and classes:
            groups[(pt, p, "team_class", class_of(value, classes))].append((pt, p, cut, value))
        up = parent(pt, p)
        if up is not None and (up[0], up[1], cut, value) in status:
            groups[(up[0], up[1], cut, value, "time")].append((pt, p, cut, value))
    for total, parts in groups.items():
        total_key = total[:4]
        if status[total_key]:
            continue  # a suppressed total gives nothing to difference from
        by_cut: dict[str, list[tuple]] = defaultdict(list)
        for part in parts:
            by_cut[part[2] if len(total) == 4 else "time"].append(part)
        for members in by_cut.values():
            if members_of[total_key] != set().union(*(members_of[m] for m in members)):
                continue  # not a partition (a week's other days fall in the next month): no exact difference
            hidden = [m for m in members if status[m]]
            if hidden:
                behind = set().union(*(actors[m] for m in hidden))
                assert len(behind) >= K, (
                    f"total {total_key} minus released parts reveals {hidden}: {len(behind)} actors"
                )


def days_atoms(
    rows: list[tuple],
    executors: tuple[str, ...],
    sizes: tuple[str, ...] = ("stated",),
    classes: tuple[tuple[str, str], ...] = (),
) -> Atoms:
    return Atoms(
        teams=("a", "b", "c", "d"),
        rungs=("engineering", "experiments", "ideation"),
        executors=executors,
        first_day=START.date(),
        days=41,
        sizes=sizes,
        classes=classes,
    )


def hidden_counts(frame: pl.DataFrame, atoms: Atoms, indicator: str, kinds: tuple[Kind, ...]) -> dict[str, np.ndarray]:
    """The counts (of each kind: executor, size mark) of ``indicator``'s suppressed cells."""
    hidden = (
        frame.filter((pl.col("indicator") == indicator) & pl.col("suppressed"))
        .select(["period_type", "period", "cut", "cut_value"])
        .unique()
        .rows()
    )
    return {
        f"{indicator} {cell} {exe or 'all'}{f' {size}' if size else ''}": atoms.vector(cell, exe, size)
        for cell in hidden
        for exe, size in kinds
    }


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, classings)
def test_suppression_alone(rows: list[tuple[int, str, str, int]], classes: tuple[tuple[str, str], ...]) -> None:
    """Suppression alone over the lab, team, rung and (with team classes) class cuts."""
    actors = actor_sets(rows, classes)
    n_events = {cell: len(members) for cell, members in event_sets(rows, classes).items()}
    cells = pl.DataFrame(
        [
            {
                "indicator": "x",
                "metric": "m",
                "period_type": k[0],
                "period": k[1],
                "cut": k[2],
                "cut_value": k[3],
                "value": 1.0,
                "n_events": n_events[k],
                "n_actors": len(a),
            }
            for k, a in actors.items()
        ]
    )
    frame = apply_k_threshold(cells, K, team_classes=classes)
    check(frame, rows, classes)
    atoms = days_atoms(rows, ("x",), classes=classes)
    equations = [
        atoms.vector(cell)
        for cell in frame.filter(~pl.col("suppressed")).select(["period_type", "period", "cut", "cut_value"]).rows()
    ]
    for day in range(atoms.days):  # a day with no event has no cells: known to be empty
        if not any(d == day for *_, d in rows):
            equations += [np.eye(len(atoms.index))[i] for i in atoms.day_columns(day)]  # type: ignore[attr-defined]
    for pt, p in {(pt, p) for pt, p, cut, _ in actors if cut == "lab"}:
        for cut in cuts_of(classes):
            equations += [atoms.vector((pt, p, cut, v)) for v in atoms.values(cut) if (pt, p, cut, v) not in actors]
    assert disclosed(atoms, equations, hidden_counts(frame, atoms, "x", (ALL,))) == []


task_events = st.lists(
    st.tuples(
        st.integers(0, 14),  # actor
        st.sampled_from(["a", "b", "c", "d"]),  # team
        st.sampled_from(["engineering", "experiments", "ideation"]),  # rung
        st.sampled_from(["ai", "human", "unknown"]),  # executor (unknown: counted, in no share)
        st.integers(0, 40),  # day offset
        st.sampled_from([None, "measured", "default"]),  # size_source (default: measured_share)
    ),
    min_size=1,
    max_size=120,
)
#: the counts a suppressed cell of each indicator must keep hidden (executor, size mark): what
#: the indicator would have released there
SECRETS: dict[str, tuple[Kind, ...]] = {
    "automation_share": (ALL, AI, ("human", None), ("unknown", None), KNOWN, ("known", "default")),
    "task_size": (AI, ("ai", "default")),
    "ladder": (ALL,),
}


TaskRow = tuple[int, str, str, str, int, "str | None"]  # actor, team, rung, executor, day, size_source
#: a week of 14 people: team a (6) has only tasks of unknown executor (its shares are NULL, over
#: no known task), team b (6) AI and human tasks, half sized by a default, team c (2) too few
#: to be shown, so one of a and b is hidden to protect it
SMALL_TEAM_BESIDE_UNKNOWN: list[TaskRow] = [
    *((i, "a", "engineering", "unknown", 0, None) for i in range(6)),
    *((6 + i, "b", "experiments", ("ai", "human")[i % 2], 1, ("default", "measured")[i // 3]) for i in range(6)),
    (12, "c", "ideation", "ai", 2, "default"),
    (13, "c", "ideation", "unknown", 2, None),
]


def task_warehouse(rows: list[TaskRow]) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding ``rows`` as task events (10 minutes each, successful)."""
    conn = duckdb.connect()
    migrate(conn)
    for i, (actor, team, rung, executor, day, size_source) in enumerate(rows):
        conn.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, 't', '1', ?, 'analysis', ?, 'supervised', 'analysis', 'engineer',"
            " ?, 10.0, 1.0, 'success', NULL, ?)",
            [f"e{i}", START + dt.timedelta(days=day), f"actor{actor}", team, f"t{i}", executor, rung, size_source],
        )
    return conn


def task_atoms(rows: list[TaskRow], classes: tuple[tuple[str, str], ...] = ()) -> tuple[Atoms, np.ndarray]:
    """The atoms of the task data sets, and ``rows`` counted over them (the truth)."""
    atoms = days_atoms(rows, ("ai", "human", "unknown"), ("stated", "default"), classes)
    truth = np.zeros(len(atoms.index))  # type: ignore[attr-defined]
    for _, team, rung, executor, day, size_source in rows:
        mark = "default" if size_source == "default" else "stated"
        truth[atoms.index[(team, rung, executor, mark, day)]] += 1  # type: ignore[attr-defined]
    return atoms, truth


def hidden_task_counts(frame: pl.DataFrame, atoms: Atoms) -> dict[str, np.ndarray]:
    return {
        name: v
        for indicator, kinds in SECRETS.items()
        for name, v in hidden_counts(frame, atoms, indicator, kinds).items()
    }


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_events, classings)
@example(SMALL_TEAM_BESIDE_UNKNOWN, ())
@example(SMALL_TEAM_BESIDE_UNKNOWN, CLASSINGS[1])
@example(SMALL_TEAM_BESIDE_UNKNOWN, CLASSINGS[3])
def test_the_released_task_indicators(rows: list[TaskRow], classes: tuple[tuple[str, str], ...]) -> None:
    """Every task indicator released together (one family), over the real job, with tasks of an
    unknown executor (in n_events, in no share's numerator or denominator) and sizes filled in
    from a default: the audit's model is exact for the release (every n_events and share is
    what it says), no released cell is under k, and no suppressed count — all tasks, AI, human,
    unknown, known-executor and default-sized tasks — is recoverable from all of them; with team
    classes too (the class cut, and each class as the total of its teams)."""
    frame = compute_indicators(task_warehouse(rows), k=K, classes=classes)
    cuts = cuts_of(classes)
    share = frame.filter((pl.col("indicator") == "automation_share") & pl.col("cut").is_in(["lab", *cuts]))
    check(share, [(a, t, r, d) for a, t, r, _, d, _ in rows], classes)
    atoms, truth = task_atoms(rows, classes)
    assert_model_matches(frame, atoms, truth, cuts)
    assert disclosed(atoms, released_equations(frame, atoms, cuts), hidden_task_counts(frame, atoms)) == []


def test_the_audit_names_a_count_left_open() -> None:
    """The audit is not blind to the new counts: release the automation-share cell that was
    hidden only to protect another (with its true values) and the audit names the protected
    cell's counts — its unknown-executor and default-sized tasks among them."""
    rows = SMALL_TEAM_BESIDE_UNKNOWN
    conn = task_warehouse(rows)
    frame = compute_indicators(conn, k=K)
    week = ("week", label("week", START))
    shield = (
        frame.filter(
            (pl.col("indicator") == "automation_share")
            & (pl.col("period_type") == week[0])
            & (pl.col("period") == week[1])
            & (pl.col("cut") == "team")
            & (pl.col("suppression_reason") == "protects_cut")
        )["cut_value"]
        .unique()
        .to_list()
    )
    assert len(shield) == 1, "one team is hidden to protect team c"
    true = automation_share.compute(conn, Scope()).filter(
        (pl.col("period_type") == week[0])
        & (pl.col("period") == week[1])
        & (pl.col("cut") == "team")
        & (pl.col("cut_value") == shield[0])
    )
    opened = pl.concat(
        [
            frame.filter(
                ~(
                    (pl.col("indicator") == "automation_share")
                    & (pl.col("period_type") == week[0])
                    & (pl.col("period") == week[1])
                    & (pl.col("cut") == "team")
                    & (pl.col("cut_value") == shield[0])
                )
            ),
            true.with_columns(suppressed=pl.lit(False)),
        ],
        how="diagonal_relaxed",
    )
    atoms, truth = task_atoms(rows)
    assert_model_matches(opened, atoms, truth, CUTS)
    found = disclosed(atoms, released_equations(opened, atoms, CUTS), hidden_task_counts(opened, atoms))
    cell = (*week, "team", "c")
    assert {
        f"automation_share {cell} all",
        f"automation_share {cell} unknown",
        f"automation_share {cell} known",
    } <= set(found)


#: found by the property test once the audit was exact (pre-existing, not from unknown executors;
#: the audit of main flags it too): 5 people in 2026-W38, one of them again on Monday 2026-09-28,
#: in ISO week W40, which runs into October and is grouped with October (its Thursday's month).
#: October has no events, so W40's count is September's minus W38's; W40 rests on 1 person.
WEEK_INTO_AN_EMPTY_MONTH: list[TaskRow] = [
    *((a, "a", "engineering", "ai", 0, None) for a in (0, 0, 2, 7, 10, 14)),
    (0, "a", "engineering", "ai", 14, None),
]


def test_a_week_straddling_into_an_empty_month() -> None:
    """A week straddling a month end is grouped with both months (``anonymize.partitions``), so
    September's weeks hide another beside W40 even though W40's Thursday is in October."""
    rows = WEEK_INTO_AN_EMPTY_MONTH
    frame = compute_indicators(task_warehouse(rows), k=K)
    atoms, _ = task_atoms(rows)
    assert disclosed(atoms, released_equations(frame, atoms, CUTS), hidden_task_counts(frame, atoms)) == []

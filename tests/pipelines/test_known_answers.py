"""Every cell of the three indicators against a plain-Python computation over the same rows.

The data: four teams over two ISO weeks (7, 6, 5 and 4 actors), tasks of every executor and
outcome (every actor has an AI task each week), reviews that happen a week after the task and by
reviewers of other teams, a review
of a human task and one of a task the warehouse never saw, experiments of every designer.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pytest

from autoscope.pipelines.jobs import compute_indicators
from tests.pipelines.warehouse_rows import add_experiment, add_review, add_task, warehouse

K = 5
TEAMS = {"delta": 7, "alpha": 6, "beta": 5, "gamma": 4}
WEEKS = {"2026-W37": dt.datetime(2026, 9, 7, 9), "2026-W38": dt.datetime(2026, 9, 14, 9)}
EXECUTORS = ["ai", "ai", "mixed", "human", "ai", "human", "ai"]
OUTCOMES = ["success", "failure", "success", "abandoned", "success", "success", "abandoned", "failure"]
ACTIONS = ["approved", "rejected", "modified", "approved", "intervened", "approved"]
DESIGNERS = ["ai", "human", "mixed", "human", "ai"]
REVIEWERS = 7  # reviews rotate over seven people of a "reviewers" team

Row = dict[str, object]


def build_rows() -> tuple[list[Row], list[Row], list[Row]]:
    """Tasks, reviews and experiments as plain dicts (the test's own copy of the data)."""
    tasks: list[Row] = []
    reviews: list[Row] = []
    experiments: list[Row] = []
    n = itertools.count()
    for (week, monday), (team, size) in itertools.product(WEEKS.items(), TEAMS.items()):
        for person in range(size):
            actor = f"{team}-{person}"
            for j in range(person % 3 + 1):
                i = next(n)
                task = {
                    "task_id": f"t{i}",
                    "actor": actor,
                    "team": team,
                    "week": week,
                    "at": monday + dt.timedelta(hours=i % 50),
                    "executor": "ai" if j == 0 else EXECUTORS[i % 7],
                    "outcome": OUTCOMES[i % 8],
                    "human_minutes": float(5 + (i * 37) % 300),
                }
                tasks.append(task)
                for r in range(i % 3):  # 0, 1 or 2 reviews, some of them a week later
                    reviews.append(
                        {
                            "task_id": task["task_id"],
                            "action": ACTIONS[(i + r) % 6],
                            "minutes": float(1 + (i + r) % 9),
                            "team": "reviewers",
                            "reviewer": f"reviewer-{(i + r) % REVIEWERS}",
                            "at": task["at"] + dt.timedelta(days=7 * r),
                        }
                    )
            experiments.append(
                {
                    "actor": actor,
                    "team": team,
                    "week": week,
                    "at": monday,
                    "designed_by": DESIGNERS[(person + int(week[-1])) % 5],
                    "hours": float(1 + (person * 13) % 40),
                }
            )
    reviews.append(
        {
            "task_id": "never-seen",
            "action": "rejected",
            "minutes": 30.0,
            "team": "reviewers",
            "reviewer": "reviewer-0",
            "at": WEEKS["2026-W37"],
        }
    )
    return tasks, reviews, experiments


def by_cell(rows: Iterable[Row]) -> dict[tuple[str, str], list[Row]]:
    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        cells[(str(row["week"]), str(row["team"]))].append(row)
        cells[(str(row["week"]), "all")].append(row)
    return cells


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def expected(tasks: list[Row], reviews: list[Row], experiments: list[Row]) -> dict[tuple[str, ...], tuple]:
    """(indicator, metric, week, cut_value) → (value, n_events, n_actors), before suppression."""
    reviews_of: dict[object, list[Row]] = defaultdict(list)
    for review in reviews:
        reviews_of[review["task_id"]].append(review)
    out: dict[tuple[str, ...], tuple] = {}

    def put(
        indicator: str,
        cell: tuple[str, str],
        rows: list[Row],
        metrics: dict[str, float | None],
        reviewers: set[object] | None = None,
    ) -> None:
        actors = len({r["actor"] for r in rows})
        if reviewers:  # review metrics describe the reviewers too: the fewer of the two counts
            actors = min(actors, len(reviewers))
        for metric, v in metrics.items():
            out[(indicator, metric, *cell)] = (v, len(rows), actors)

    for cell, rows in by_cell(tasks).items():
        known = [r for r in rows if r["executor"] != "unknown"]  # an unknown executor is in no share
        completed = sum(r["human_minutes"] for r in known if r["outcome"] in ("success", "failure"))
        ai_won = sum(r["human_minutes"] for r in rows if r["executor"] == "ai" and r["outcome"] == "success")
        put(
            "automation_share",
            cell,
            rows,
            {
                **{
                    f"{e}_share": ratio(sum(r["executor"] == e for r in known), len(known))
                    for e in ("ai", "mixed", "human")
                },
                "time_weighted_ai_share": ratio(ai_won, completed),
                "unknown_share": (len(rows) - len(known)) / len(rows),
                "measured_share": ratio(sum(r.get("size_source") != "default" for r in known), len(known)),
            },
        )
    for cell, ai in by_cell(t for t in tasks if t["executor"] == "ai").items():
        seen = [v for t in ai for v in reviews_of[t["task_id"]]]
        put(
            "review_frequency",
            cell,
            ai,
            {
                "reviews_per_ai_task": len(seen) / len(ai),
                "unreviewed_share": sum(not reviews_of[t["task_id"]] for t in ai) / len(ai),
                # these reviews say no oversight mode: each is a person's (issue 12)
                "person_reviewed_share": sum(bool(reviews_of[t["task_id"]]) for t in ai) / len(ai),
                "rule_approved_share": 0.0,
                "never_asked_share": 0.0,
                "intervention_rate": ratio(sum(v["action"] != "approved" for v in seen), len(seen)),
                "review_minutes_per_ai_task": sum(v["minutes"] for v in seen) / len(ai),
            },
            reviewers={v["reviewer"] for v in seen},
        )
    for cell, rows in by_cell(experiments).items():
        hours = sum(r["hours"] for r in rows)
        put(
            "experiment_compute",
            cell,
            rows,
            {
                "ai_designed_share": sum(r["hours"] for r in rows if r["designed_by"] == "ai") / hours,
                "ai_or_mixed_designed_share": sum(r["hours"] for r in rows if r["designed_by"] != "human") / hours,
            },
        )
    return out


def expected_suppressed(cells: dict[tuple[str, ...], tuple]) -> set[tuple[str, str, str]]:
    """(indicator, week, cut_value) suppressed: below k; the smallest released team of a week
    with a suppressed team and no other suppressed team of k actors (complementary); and a
    team's other week when one of its two weeks is suppressed below k (together they are its
    month, September, which is released)."""
    size: dict[tuple[str, str, str], tuple[int, int]] = {
        (ind, week, cut): (n_actors, n_events) for (ind, _, week, cut), (_, n_events, n_actors) in cells.items()
    }
    out = {key for key, (actors, _) in size.items() if actors < K}
    while True:
        before = set(out)
        for ind, week in {(i, w) for i, w, _ in size}:
            teams = {c: s for (i, w, c), s in size.items() if (i, w) == (ind, week) and c != "all"}
            hidden = [c for c in teams if (ind, week, c) in out]
            if (ind, week, "all") in out or not hidden or any(teams[c][0] >= K for c in hidden):
                continue
            released = sorted((a, e, c) for c, (a, e) in teams.items() if (ind, week, c) not in out)
            if released:
                out.add((ind, week, released[0][2]))
        for ind, team in {(i, c) for i, _, c in size}:
            weeks = [w for w in WEEKS if (ind, w, team) in size]
            hidden = [w for w in weeks if (ind, w, team) in out]
            if len(weeks) == 2 and len(hidden) == 1 and size[(ind, hidden[0], team)][0] < K:
                out.update((ind, w, team) for w in weeks)
        if out == before:
            return out


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, dict, set]:
    tasks, reviews, experiments = build_rows()
    conn = warehouse(Path(tmp_path_factory.mktemp("known")) / "w.duckdb")
    for t in tasks:
        add_task(
            conn,
            actor=t["actor"],
            team=t["team"],
            executor=t["executor"],
            outcome=t["outcome"],
            human_minutes=t["human_minutes"],
            task_id=t["task_id"],
            at=t["at"],
        )
    for r in reviews:
        add_review(conn, r["task_id"], r["action"], r["minutes"], at=r["at"], team=r["team"], actor=r["reviewer"])
    add_task(conn, actor="alpha-0", team="alpha", executor="human", task_id="human-task", at=WEEKS["2026-W37"])
    tasks.append(
        {
            "task_id": "human-task",
            "actor": "alpha-0",
            "team": "alpha",
            "week": "2026-W37",
            "executor": "human",
            "outcome": "success",
            "human_minutes": 10.0,
        }
    )
    add_review(conn, "human-task", "rejected", 50.0)  # reviews of human work are not counted
    reviews.append({"task_id": "human-task", "action": "rejected", "minutes": 50.0, "reviewer": "reviewer"})
    for e in experiments:
        add_experiment(
            conn, actor=e["actor"], team=e["team"], designed_by=e["designed_by"], hours=e["hours"], at=e["at"]
        )
    frame = only_original(compute_indicators(conn, period_types=("week",)))
    conn.close()
    cells = expected(tasks, reviews, experiments)
    return frame, cells, expected_suppressed(cells)


def only_original(frame: pl.DataFrame) -> pl.DataFrame:
    """The three indicators and the team cut this test's plain-Python copy computes."""
    return frame.filter(
        pl.col("indicator").is_in(["automation_share", "review_frequency", "experiment_compute"])
        & pl.col("cut").is_in(["lab", "team"])
    )


def test_every_cell_is_present_once(computed: tuple[pl.DataFrame, dict, set]) -> None:
    frame, cells, _ = computed
    got = set(zip(frame["indicator"], frame["metric"], frame["period"], frame["cut_value"]))
    assert got == set(cells) and frame.height == len(cells)
    assert set(frame["period_type"]) == {"week"}
    assert set(zip(frame["cut"], frame["cut_value"] == "all")) == {("lab", True), ("team", False)}


def test_released_cells_match_plain_python(computed: tuple[pl.DataFrame, dict, set]) -> None:
    frame, cells, suppressed = computed
    released = 0
    for row in frame.iter_rows(named=True):
        key = (row["indicator"], row["metric"], row["period"], row["cut_value"])
        value, n_events, n_actors = cells[key]
        if (row["indicator"], row["period"], row["cut_value"]) in suppressed:
            assert row["suppressed"] and row["value"] is None and row["n_events"] is None, key
            continue
        released += 1
        assert not row["suppressed"], key
        assert (row["n_events"], row["n_actors"]) == (n_events, n_actors), key
        assert row["value"] == (pytest.approx(value) if value is not None else None), key
    # 12 metrics × 2 weeks × (lab, delta, alpha); gamma (4) and beta (5, complementary) withheld;
    # and alpha's review frequency in both weeks: only 4 people reviewed its AI tasks in W38, and
    # September minus W37 would give W38 back
    assert released == 15 * 2 * 3 - 2 * 7
    assert {("review_frequency", week, "alpha") for week in WEEKS} <= suppressed


def test_which_cells_are_withheld(computed: tuple[pl.DataFrame, dict, set]) -> None:
    """Spelled out, so a wrong oracle could not hide a wrong job."""
    frame, _, _ = computed
    withheld = frame.filter(pl.col("suppressed") & (pl.col("indicator") == "automation_share"))
    # gamma has 4 actors; beta has 5 but "lab − delta − alpha" would give gamma back with it
    assert set(zip(withheld["period"], withheld["cut_value"])) == {
        (week, team) for week in WEEKS for team in ("gamma", "beta")
    }
    assert frame.filter(pl.col("cut_value") == "reviewers").is_empty(), "reviewers' own team is no cell"


def test_review_goes_to_the_week_and_team_of_its_task(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    monday, next_monday = WEEKS["2026-W37"], WEEKS["2026-W38"]
    ai_tasks = [add_task(conn, actor=f"a{i}", team="t1", at=monday) for i in range(5)]
    for i in range(5):
        add_task(conn, actor=f"a{i}", team="t1", at=next_monday)
    # five reviewers of another team, all a week later (fewer than k reviewers would withhold
    # the cell: its intervention rate describes them)
    for task, action, minutes, reviewer in (
        (0, "modified", 8, "r0"),
        (0, "approved", 2, "r1"),
        (1, "approved", 1, "r2"),
        (1, "rejected", 3, "r3"),
        (2, "approved", 1, "r4"),
    ):
        add_review(conn, ai_tasks[task], action, minutes, at=next_monday, team="elsewhere", actor=reviewer)
    frame = compute_indicators(conn)

    def metric(name: str, period: str, cut_value: str = "all") -> float | None:
        rows = frame.filter(
            (pl.col("metric") == name) & (pl.col("period") == period) & (pl.col("cut_value") == cut_value)
        )
        assert rows.height == 1
        return rows["value"][0]

    assert metric("reviews_per_ai_task", "2026-W37") == pytest.approx(5 / 5)
    assert metric("reviews_per_ai_task", "2026-W38") == 0.0
    assert metric("unreviewed_share", "2026-W37") == pytest.approx(2 / 5)
    assert metric("intervention_rate", "2026-W37", "t1") == pytest.approx(2 / 5)
    assert metric("intervention_rate", "2026-W38") is None, "no reviews: no rate, not 0"
    assert metric("review_minutes_per_ai_task", "2026-W37") == pytest.approx(15 / 5)
    # the reviewers' own team has no cell of the work they reviewed; only researcher time
    # allocation places review minutes with the reviewers (it is their time)
    elsewhere = frame.filter(pl.col("cut_value") == "elsewhere")
    assert set(elsewhere["indicator"]) == {"time_allocation"}

"""Known answers for the indicators on hand-built data, k-suppression, idempotency, periods."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from autoscope.pipelines.anonymize import resolve_k
from autoscope.pipelines.jobs import compute_indicators, run_indicators
from tests.pipelines.warehouse_rows import add_experiment, add_review, add_task, warehouse

ACTORS = [f"p{i}" for i in range(6)]


def value(frame: pl.DataFrame, indicator: str, metric: str, cut_value: str = "all", period: str = "2026-W37"):
    rows = frame.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("cut_value") == cut_value)
        & (pl.col("period") == period)
        & (pl.col("period_type") == "week")
    )
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_automation_share_by_count_and_time(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    tasks = [  # (executor, outcome, human_minutes)
        ("ai", "success", 30),
        ("ai", "failure", 60),
        ("ai", "abandoned", 500),
        ("mixed", "success", 40),
        ("human", "success", 120),
        ("human", "failure", 10),
    ]
    for actor, (executor, outcome, minutes) in zip(ACTORS, tasks):
        add_task(conn, actor=actor, executor=executor, outcome=outcome, human_minutes=minutes)
    frame = compute_indicators(conn)
    # independent: shares of all tasks; successful AI minutes over completed (not abandoned) minutes
    completed = sum(m for _, o, m in tasks if o != "abandoned")
    assert value(frame, "automation_share", "ai_share")["value"] == pytest.approx(3 / 6)
    assert value(frame, "automation_share", "mixed_share")["value"] == pytest.approx(1 / 6)
    assert value(frame, "automation_share", "human_share")["value"] == pytest.approx(2 / 6)
    cell = value(frame, "automation_share", "time_weighted_ai_share")
    assert cell["value"] == pytest.approx(30 / completed)
    assert (cell["n_events"], cell["n_actors"], cell["suppressed"]) == (6, 6, False)


def test_review_frequency(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    ai_tasks = [add_task(conn, actor=a) for a in ACTORS[:5]]
    add_task(conn, actor=ACTORS[5], executor="human")  # not AI: its reviews don't count
    add_review(conn, ai_tasks[0], "approved", 4, actor="r0")
    add_review(conn, ai_tasks[0], "modified", 6, actor="r1")
    add_review(conn, ai_tasks[1], "rejected", 10, actor="r2")
    add_review(conn, ai_tasks[2], "intervened", 2, actor="r3")
    add_review(conn, ai_tasks[2], "approved", 1, actor="r4")
    frame = compute_indicators(conn)
    assert value(frame, "review_frequency", "reviews_per_ai_task")["value"] == pytest.approx(5 / 5)
    assert value(frame, "review_frequency", "unreviewed_share")["value"] == pytest.approx(2 / 5)
    assert value(frame, "review_frequency", "intervention_rate")["value"] == pytest.approx(3 / 5)
    assert value(frame, "review_frequency", "review_minutes_per_ai_task")["value"] == pytest.approx(23 / 5)
    assert value(frame, "review_frequency", "intervention_rate")["n_actors"] == 5


def test_review_frequency_splits_ai_work_by_oversight_mode(tmp_path: Path) -> None:
    """Issue 12: allowlisted work is neither unreviewed nor human-reviewed; approval-off work is
    unreviewed and said so; only a person's reviews count as reviews and interventions."""
    conn = warehouse(tmp_path / "w.duckdb")
    tasks = [add_task(conn, actor=f"a{i}") for i in range(12)]
    for i in range(5):  # five people review (k): no mode is a person's (the hooks' review())
        add_review(
            conn,
            tasks[i],
            "rejected" if i == 0 else "approved",
            2,
            actor=f"r{i}",
            oversight=None if i % 2 else "person",
        )
    add_review(conn, tasks[1], "approved", 0, actor="rule", oversight="rule")  # and a rule: the person counts
    for i in (5, 6, 7):
        add_review(conn, tasks[i], "approved", 0, actor="rule", oversight="rule")
    for i in (8, 9):
        add_review(conn, tasks[i], "approved", 0, actor="yolo", oversight="never_asked")
    # tasks 10 and 11: no decision at all
    frame = compute_indicators(conn)

    def metric(name: str) -> float:
        return value(frame, "review_frequency", name)["value"]

    assert metric("person_reviewed_share") == pytest.approx(5 / 12)
    assert metric("rule_approved_share") == pytest.approx(3 / 12)
    assert metric("unreviewed_share") == pytest.approx(4 / 12)
    assert metric("never_asked_share") == pytest.approx(2 / 12)
    assert metric("reviews_per_ai_task") == pytest.approx(5 / 12), "a rule's or nobody's decision is no review"
    assert metric("intervention_rate") == pytest.approx(1 / 5)
    assert metric("review_minutes_per_ai_task") == pytest.approx(10 / 12)


def test_review_frequency_of_fewer_than_k_reviewers_is_withheld(tmp_path: Path) -> None:
    """Five people's AI tasks, all reviewed by one person: the rates describe that reviewer."""
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS[:5]:
        add_review(conn, add_task(conn, actor=actor), "rejected", 3, actor="the-only-reviewer")
    frame = compute_indicators(conn)
    assert value(frame, "review_frequency", "intervention_rate")["suppressed"]
    assert not value(frame, "automation_share", "ai_share")["suppressed"], "the tasks themselves are shown"


def test_experiment_compute_share(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    plan = [("ai", 10), ("ai", 30), ("mixed", 20), ("human", 40), ("human", 100)]
    for actor, (designed_by, hours) in zip(ACTORS, plan):
        add_experiment(conn, actor=actor, designed_by=designed_by, hours=hours)
    frame = compute_indicators(conn)
    assert value(frame, "experiment_compute", "ai_designed_share")["value"] == pytest.approx(40 / 200)
    assert value(frame, "experiment_compute", "ai_or_mixed_designed_share")["value"] == pytest.approx(60 / 200)


def test_a_team_of_four_is_suppressed_and_kept(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS[:4]:
        add_task(conn, actor=actor, team="small")
    for actor in ACTORS:
        add_task(conn, actor=f"b-{actor}", team="big")
        add_task(conn, actor=f"c-{actor}", team="bigger")
        add_task(conn, actor=f"c-{actor}-2", team="bigger")
    frame = compute_indicators(conn)
    for indicator, metric in (
        ("automation_share", "ai_share"),
        ("automation_share", "time_weighted_ai_share"),
        ("review_frequency", "reviews_per_ai_task"),
    ):
        small = value(frame, indicator, metric, "small")
        assert small["suppressed"] and small["value"] is None and small["n_actors"] is None
        assert small["n_events"] is None, "a suppressed cell does not even tell how small it is"
    # "lab minus the released teams" would give `small` back: the smallest released team goes too
    assert value(frame, "automation_share", "ai_share", "big")["suppressed"]
    bigger = value(frame, "automation_share", "ai_share", "bigger")
    assert not bigger["suppressed"] and bigger["value"] == 1.0 and bigger["n_actors"] == 12
    lab = value(frame, "automation_share", "ai_share")
    assert not lab["suppressed"] and (lab["n_actors"], lab["n_events"]) == (4 + 6 + 12, 4 + 6 + 12)


def test_a_team_of_exactly_five_is_released(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS[:5]:
        add_task(conn, actor=actor, team="five")
        add_task(conn, actor=actor, team="five", executor="human")
        add_task(conn, actor=f"b-{actor}", team="other")
    frame = compute_indicators(conn)
    five = value(frame, "automation_share", "ai_share", "five")
    assert not five["suppressed"] and five["value"] == 0.5 and (five["n_events"], five["n_actors"]) == (10, 5)
    assert frame["suppressed"].sum() == 0


def test_k_can_be_raised_never_lowered(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS:
        add_task(conn, actor=actor)
    assert value(compute_indicators(conn, k=7), "automation_share", "ai_share")["suppressed"]
    with pytest.raises(ValueError, match="at least 5"):
        resolve_k(4)


def test_rerun_is_idempotent(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS:
        add_task(conn, actor=actor)
    run_indicators(conn)
    first = conn.execute("SELECT * EXCLUDE (computed_at) FROM indicator_values ORDER BY ALL").fetchall()
    run_indicators(conn)
    assert conn.execute("SELECT * EXCLUDE (computed_at) FROM indicator_values ORDER BY ALL").fetchall() == first


def test_iso_week_and_other_periods(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS:
        add_task(conn, actor=actor, at=dt.datetime(2026, 12, 31, 23, 0))
        add_task(conn, actor=actor, at=dt.datetime(2027, 1, 1, 1, 0), executor="human")
    frame = compute_indicators(conn, period_types=("week", "month", "quarter"))
    lab = frame.filter((pl.col("metric") == "ai_share") & (pl.col("cut") == "lab"))
    periods = dict(zip(lab["period"], lab["value"]))
    assert periods["2026-W53"] == 0.5, "both days are in ISO week 2026-W53"
    assert periods["2026-12"] == 1.0 and periods["2027-01"] == 0.0
    assert periods["2026-Q4"] == 1.0 and periods["2027-Q1"] == 0.0


def test_no_ai_work_is_zero_not_missing(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for actor in ACTORS:
        add_task(conn, actor=actor, executor="human")
        add_experiment(conn, actor=actor, designed_by="human", hours=3)
    frame = compute_indicators(conn)
    assert value(frame, "automation_share", "time_weighted_ai_share")["value"] == 0.0
    assert value(frame, "experiment_compute", "ai_designed_share")["value"] == 0.0

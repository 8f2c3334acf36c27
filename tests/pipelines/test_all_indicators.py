"""Known answers for the indicators added in issue 6, each computed independently in the test
(plain Python / numpy over the same rows)."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from autoscope.pipelines.jobs import compute_indicators
from tests.pipelines.warehouse_rows import (
    MONDAY,
    add_contribution,
    add_deployment,
    add_impression,
    add_milestone,
    add_spend,
    add_task,
    warehouse,
)

ACTORS = [f"p{i}" for i in range(6)]
W37, W38 = "2026-W37", "2026-W38"


def cell(
    frame: pl.DataFrame,
    indicator: str,
    metric: str,
    cut_value: str = "all",
    period: str = W37,
    period_type: str = "week",
) -> dict:
    rows = frame.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("cut_value") == cut_value)
        & (pl.col("period") == period)
        & (pl.col("period_type") == period_type)
    )
    assert rows.height == 1, (indicator, metric, cut_value, period, rows)
    return rows.row(0, named=True)


def test_delegated_task_size(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    minutes = [5, 30, 61, 200, 480, 481, 3000, 2400]
    for i, m in enumerate(minutes):
        add_task(conn, actor=ACTORS[i % 6], human_minutes=m, outcome="failure" if i % 3 else "success")
    add_task(conn, actor="p0", executor="human", human_minutes=9999)  # not delegated
    frame = compute_indicators(conn)
    assert cell(frame, "task_size", "median_minutes")["value"] == pytest.approx(np.percentile(minutes, 50))
    assert cell(frame, "task_size", "p90_minutes")["value"] == pytest.approx(np.percentile(minutes, 90))
    assert cell(frame, "task_size", "share_over_1h")["value"] == pytest.approx(sum(m > 60 for m in minutes) / 8)
    assert cell(frame, "task_size", "share_over_8h")["value"] == pytest.approx(sum(m > 480 for m in minutes) / 8)
    assert cell(frame, "task_size", "share_over_40h")["value"] == pytest.approx(1 / 8)
    c = cell(frame, "task_size", "median_minutes")
    assert (c["n_events"], c["n_actors"]) == (8, 6)


def test_sophistication_ladder(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    # engineering: 6 actors, half AI; experiments: 6 actors, 1 of 12 AI (8 %); ideation: 5 actors,
    # 1 of 5 AI (20 %); strategy: 2 actors, all AI (too few actors to count for the ladder)
    for a in ACTORS:
        add_task(conn, actor=a, rung="engineering", executor="ai")
        add_task(conn, actor=a, rung="engineering", executor="human")
        add_task(conn, actor=a, rung="experiments", executor="ai" if a == "p0" else "human")
        add_task(conn, actor=a, rung="experiments", executor="human")
    for a in ACTORS[:5]:
        add_task(conn, actor=a, rung="ideation", executor="ai" if a == "p1" else "mixed")
    for a in ACTORS[:2]:
        add_task(conn, actor=a, rung="strategy", executor="ai")
    frame = compute_indicators(conn)
    assert cell(frame, "ladder", "ai_share", "engineering")["value"] == pytest.approx(0.5)
    assert cell(frame, "ladder", "ai_share", "experiments")["value"] == pytest.approx(1 / 12)
    assert cell(frame, "ladder", "ai_share", "strategy")["suppressed"]
    # with strategy suppressed under a released lab total, the smallest released rung goes too
    assert cell(frame, "ladder", "ai_share", "ideation")["suppressed"]
    top = cell(frame, "ladder", "highest_rung")
    assert (top["value"], top["note"]) == (3.0, "ideation")


def test_tasks_involved_and_its_change(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    week1 = ["analysis"] * 3 + ["literature"] * 3
    week2 = ["analysis"] * 1 + ["literature"] * 2 + ["hypothesis"] * 3
    for a, c in zip(ACTORS, week1):
        add_task(conn, actor=a, category=c)
    for a, c in zip(ACTORS, week2):
        add_task(conn, actor=a, category=c, at=MONDAY + dt.timedelta(days=7))
    add_task(conn, actor="p0", category="hypothesis", executor="human")  # not AI
    frame = compute_indicators(conn)
    assert cell(frame, "tasks_involved", "share_analysis")["value"] == pytest.approx(0.5)
    assert cell(frame, "tasks_involved", "share_hypothesis", period=W38)["value"] == pytest.approx(0.5)
    assert cell(frame, "tasks_involved", "change_hypothesis", period=W38)["value"] == pytest.approx(0.5)
    assert cell(frame, "tasks_involved", "change_analysis", period=W38)["value"] == pytest.approx(1 / 6 - 0.5)
    first = cell(frame, "tasks_involved", "change_analysis")
    assert first["value"] is None and first["note"] == "no previous period"


def test_ai_first_authorship(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    plan = [("ai", 0.9), ("ai", 0.7), ("human", 0.1), ("human", 0.0), ("human", 0.3), ("ai", 1.0), ("human", 0.2)]
    for i, (author, share) in enumerate(plan):
        add_contribution(conn, actor=ACTORS[i % 6], first_author=author, ai_share=share)
    frame = compute_indicators(conn)
    assert cell(frame, "authorship", "ai_first_author_share")["value"] == pytest.approx(3 / 7)
    assert cell(frame, "authorship", "mean_ai_share")["value"] == pytest.approx(statistics.mean(s for _, s in plan))


def test_automation_is_left_out_of_authorship_and_of_people(tmp_path: Path) -> None:
    """Issue 13: bots' commits count on their own; they change neither share nor n_actors."""
    conn = warehouse(tmp_path / "w.duckdb")
    plan = [("ai", 1.0), ("ai", 0.5), ("human", 0.0), ("human", 0.0), ("human", 0.25), ("ai", 0.5)]
    for i, (author, share) in enumerate(plan):
        add_contribution(conn, actor=ACTORS[i], first_author=author, ai_share=share)
    for n in range(4):  # a CI account and a dependency bot, neither a person
        add_contribution(conn, actor=f"bot{n % 2}", first_author="automation", ai_share=0.0)
    frame = compute_indicators(conn)
    share = cell(frame, "authorship", "ai_first_author_share")
    assert share["value"] == pytest.approx(3 / 6)
    assert share["n_events"] == 6 and share["n_actors"] == 6  # the two bots are not people
    assert cell(frame, "authorship", "mean_ai_share")["value"] == pytest.approx(2.25 / 6)
    assert cell(frame, "authorship", "automation_contributions")["value"] == 4


def test_internal_public_gap_counts_open_gaps_as_lower_bounds(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    t0 = dt.datetime(2026, 9, 1, 12)
    gaps = {"m1": 10, "m2": 30, "m3": None, "m4": 4, "m5": None}
    for i, (model, gap) in enumerate(gaps.items()):
        public = t0 + dt.timedelta(days=gap) if gap is not None else None
        add_deployment(conn, actor=ACTORS[i], model_id=model, internal_at=t0, public_at=public)
    add_deployment(conn, actor="p5", model_id="m4", internal_at=t0, public_at=None, at=t0 - dt.timedelta(days=1))
    as_of = t0 + dt.timedelta(days=50)
    for a in ACTORS:  # the newest event in the warehouse is the as-of time of open gaps
        add_task(conn, actor=a, at=as_of)
    frame = compute_indicators(conn, period_types=("month",))
    lower = [g if g is not None else 50 for g in gaps.values()]
    mean = cell(frame, "release_gap", "mean_gap_days", period="2026-09", period_type="month")
    assert mean["value"] == pytest.approx(sum(lower) / 5)
    assert mean["note"] == "lower bound: 2 model(s) not yet public"
    assert cell(frame, "release_gap", "median_gap_days", period="2026-09", period_type="month")[
        "value"
    ] == pytest.approx(30)
    assert cell(frame, "release_gap", "mean_gap_days_released", period="2026-09", period_type="month")[
        "value"
    ] == pytest.approx((10 + 30 + 4) / 3)
    assert cell(frame, "release_gap", "open_models", period="2026-09", period_type="month")["value"] == 2


def test_compute_multiplier_pairs_recipe_and_loss(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    add_milestone(conn, actor="p0", run_id="base", compute=8e21, baseline=None)
    add_milestone(conn, actor="p1", run_id="r1", compute=4e21, baseline="base")
    add_milestone(conn, actor="p2", run_id="r2", compute=1e21, baseline="base")
    add_milestone(conn, actor="p3", run_id="r3", compute=2e21, baseline="base")
    add_milestone(conn, actor="p4", run_id="r4", compute=1e20, baseline="base", loss=2.5)  # other loss: unpaired
    add_milestone(conn, actor="p5", run_id="r5", compute=5e21, baseline="base")
    add_milestone(conn, actor="p6", run_id="r6", compute=8e21, baseline="base")
    for a in ["q1", "q2", "q3", "q4", "q5"]:
        add_milestone(conn, actor=a, run_id=f"n-{a}", compute=4e21, baseline="base", at=MONDAY + dt.timedelta(days=7))
    frame = compute_indicators(conn)
    ratios = [2.0, 8.0, 4.0, 8 / 5, 1.0]
    geo = cell(frame, "compute_multiplier", "geomean_multiplier")
    assert geo["value"] == pytest.approx(math.exp(statistics.mean(map(math.log, ratios))))
    assert geo["n_events"] == 5
    assert cell(frame, "compute_multiplier", "max_multiplier")["value"] == pytest.approx(8.0)
    assert cell(frame, "compute_multiplier", "trend_vs_previous", period=W38)["value"] == pytest.approx(
        2.0 / geo["value"]
    )


def test_impressions_per_question(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    scores = {"speedup": [5, 4, 2, 3, 5, 1], "trust": [4, 4, 4, 5, 2, 3]}
    for q, values in scores.items():
        for a, s in zip(ACTORS, values):
            add_impression(conn, actor=a, question=q, score=s)
    frame = compute_indicators(conn)
    for q, values in scores.items():
        assert cell(frame, "impressions", "mean_score", q)["value"] == pytest.approx(statistics.mean(values))
        assert cell(frame, "impressions", "share_4_or_more", q)["value"] == pytest.approx(
            sum(v >= 4 for v in values) / 6
        )


def test_spend_distribution_and_per_researcher(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    spends = [("ai_tools", 100.0), ("ai_tools", 50.0), ("compute", 800.0), ("data", 25.0), ("staff", 1000.0)]
    for a, (category, amount) in zip(ACTORS, spends):
        add_spend(conn, actor=a, category=category, amount=amount)
    for a in ACTORS + ["p6", "p7"]:  # 8 active researchers, 5 of whom reported spend
        add_task(conn, actor=a)
    frame = compute_indicators(conn)
    total = sum(v for _, v in spends)
    assert cell(frame, "spend", "share_ai_tools")["value"] == pytest.approx(150 / total)
    assert cell(frame, "spend", "share_compute")["value"] == pytest.approx(800 / total)
    assert cell(frame, "spend", "share_other")["value"] == 0.0
    per = cell(frame, "spend", "ai_tool_spend_per_active_researcher")
    # k counts the 5 who reported spend (what the shares describe), not the 8 researchers
    assert per["value"] == pytest.approx(150 / 8) and (per["n_events"], per["n_actors"]) == (5, 5)


def test_every_row_carries_its_sample_size(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for a in ACTORS:
        add_task(conn, actor=a, human_minutes=30, outcome="success")
        add_task(conn, actor=a, human_minutes=300, outcome="failure")
        add_contribution(conn, actor=a, first_author="ai", ai_share=0.5)
    frame = compute_indicators(conn)
    released = frame.filter(~pl.col("suppressed"))
    assert released["n_events"].null_count() == 0 and released["n_actors"].null_count() == 0

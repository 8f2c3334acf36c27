"""The real chain, end to end: hooks → HTTP → collector → spool → Kafka (embedded broker) →
ingester → warehouse → indicators, checked against an independent computation over the
simulated lab's plan; then the demo is run again on the same data and nothing changes.

The same test runs over both warehouse backends: the DuckDB file, and a DuckLake whose catalog
is in a real PostgreSQL (tests/conftest.py ``postgres``) and whose data files are Parquet."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.demo import DemoResult, run_demo
from autoscope.simulation import LabPlan
from autoscope.warehouse.lake import LakeLocation, connect_lake

pytestmark = pytest.mark.integration
K = 5


def iso_week(moment) -> str:  # type: ignore[no-untyped-def]
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def expected_cells(plan: LabPlan) -> dict[tuple[str, str, str], tuple[float | None, int]]:
    """(metric, week, team or 'all') → (value, distinct actors), from the plan in plain Python."""
    tasks: dict[tuple[str, str], list[dict]] = defaultdict(list)
    experiments: dict[tuple[str, str], list[dict]] = defaultdict(list)
    reviews: dict[str, list[dict]] = defaultdict(list)
    for event in plan.events:
        f = event.fields
        for cell_team in (f["team"], "all"):
            if event.type == "task":
                tasks[(iso_week(f["occurred_at"]), cell_team)].append(f)
            elif event.type == "experiment":
                experiments[(iso_week(f["occurred_at"]), cell_team)].append(f)
        if event.type == "review":
            reviews[f["task_id"]].append(f)
    out: dict[tuple[str, str, str], tuple[float | None, int]] = {}
    for (week, team), rows in tasks.items():
        actors = len({r["actor"] for r in rows})
        completed = sum(r["human_minutes"] for r in rows if r["outcome"] != "abandoned")
        ai_won = sum(r["human_minutes"] for r in rows if r["executor"] == "ai" and r["outcome"] == "success")
        out[("ai_share", week, team)] = (sum(r["executor"] == "ai" for r in rows) / len(rows), actors)
        out[("time_weighted_ai_share", week, team)] = (ai_won / completed, actors)
        ai = [r for r in rows if r["executor"] == "ai"]
        n_reviews = sum(len(reviews[r["task_id"]]) for r in ai)
        interventions = sum(v["action"] != "approved" for r in ai for v in reviews[r["task_id"]])
        ai_actors = len({r["actor"] for r in ai})
        reviewers = {v["reviewer"] for r in ai for v in reviews[r["task_id"]]}
        if reviewers:  # review rates describe the reviewers too: k counts the fewer
            ai_actors = min(ai_actors, len(reviewers))
        out[("reviews_per_ai_task", week, team)] = (n_reviews / len(ai), ai_actors)
        out[("unreviewed_share", week, team)] = (sum(not reviews[r["task_id"]] for r in ai) / len(ai), ai_actors)
        out[("intervention_rate", week, team)] = (interventions / n_reviews if n_reviews else None, ai_actors)
    for (week, team), rows in experiments.items():
        hours = sum(r["accelerator_hours"] for r in rows)
        ai_hours = sum(r["accelerator_hours"] for r in rows if r["designed_by"] == "ai")
        out[("ai_designed_share", week, team)] = (ai_hours / hours, len({r["actor"] for r in rows}))
    return out


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture(params=["file", "ducklake"])
def lake(request: pytest.FixtureRequest) -> LakeLocation | None:
    """The warehouse backend: None for the DuckDB file (the default), else a fresh lake."""
    return request.getfixturevalue("lake_location") if request.param == "ducklake" else None


def open_warehouse(result: DemoResult) -> duckdb.DuckDBPyConnection:
    return connect_lake(result.lake) if result.lake is not None else duckdb.connect(str(result.warehouse_path))


def test_demo_chain_matches_the_plan_and_reruns_idempotently(
    kafka: KafkaSettings, tmp_path: Path, lake: LakeLocation | None
) -> None:
    result: DemoResult = run_demo(tmp_path, kafka=kafka, console=quiet(), lake=lake)
    plan = result.plan
    assert result.events_sent == len(plan.events)

    conn = open_warehouse(result)
    try:
        counts = dict(conn.execute("SELECT type, count(*) FROM event_ids GROUP BY type").fetchall())
        assert counts == plan.count_by_type()
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
        assert rows == distinct == len(plan.events)
        for table, column in (("tasks", "actor"), ("reviews", "reviewer"), ("experiments", "actor")):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} LIKE '%@%'").fetchall()[0][0] == 0

        stored = {
            (metric, period, cut_value): (value, n_actors, suppressed)
            for metric, period, cut_value, value, n_actors, suppressed in conn.execute(
                "SELECT metric, period, cut_value, value, n_actors, suppressed FROM indicator_values "
                "WHERE period_type = 'week' AND cut IN ('lab', 'team')"
                " AND indicator IN ('automation_share', 'review_frequency', 'experiment_compute')"
            ).fetchall()
        }
    finally:
        conn.close()

    expected = expected_cells(plan)
    checked = 0
    complementary: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, (value, actors) in expected.items():
        got_value, got_actors, suppressed = stored[key]
        if actors < K:
            assert suppressed and got_value is None, key
            continue
        if suppressed:  # complementary: shields a smaller cell from "lab total minus released teams"
            assert got_value is None and got_actors is None and key[2] != "all", key
            complementary[key[:2]].append(key[2])
            continue
        assert got_actors == actors, key
        assert got_value == pytest.approx(value) if value is not None else got_value is None, key
        checked += 1
    small_team = [k for k in stored if k[2] == "policy"]
    assert small_team and all(stored[k][2] for k in small_team), "the 3-person team is always suppressed"
    # the lab-wide cell is released every week, so without another suppressed team the policy
    # team's numbers would be the lab's minus the other teams': what can be differenced out
    # must rest on at least k actors
    metrics = {metric for metric, _, _ in expected}
    weeks_with_policy = {(metric, week) for metric, week, _ in small_team if metric in metrics}
    assert set(complementary) == weeks_with_policy, "each policy cell is shielded by another team"
    for (metric, week), teams in complementary.items():
        assert any(expected[(metric, week, team)][1] >= K for team in teams), (metric, week, teams)
    # what stays visible: every lab-wide cell, and most large teams' automation share each week
    assert all(not stored[key][2] for key in expected if key[2] == "all")
    for week in {week for _, week, _ in expected}:
        shown = [
            team
            for (m, w, team), (_, _, hidden) in stored.items()
            if m == "ai_share" and w == week and team != "all" and not hidden
        ]
        assert len(shown) >= 2, (week, shown)
    assert checked >= 6 * 8 * 2, checked

    # what the simulator intended: AI's share of tasks rises every week, lab-wide
    weekly = sorted((period, v[0]) for (m, period, team), v in stored.items() if m == "ai_share" and team == "all")
    assert all(a[1] < b[1] for a, b in zip(weekly, weekly[1:])), weekly

    again = run_demo(tmp_path, kafka=kafka, console=quiet(), lake=lake)
    conn = open_warehouse(again)
    try:
        assert conn.execute("SELECT count(*) FROM event_ids").fetchall()[0][0] == len(plan.events)
        restored = {
            (metric, period, cut_value): (value, n_actors, suppressed)
            for metric, period, cut_value, value, n_actors, suppressed in conn.execute(
                "SELECT metric, period, cut_value, value, n_actors, suppressed FROM indicator_values "
                "WHERE period_type = 'week' AND cut IN ('lab', 'team')"
                " AND indicator IN ('automation_share', 'review_frequency', 'experiment_compute')"
            ).fetchall()
        }
    finally:
        conn.close()
    assert restored == stored

"""Researcher time allocation and capital share of R&D spending on small warehouses whose
answers are worked out by hand (issue 16, items 3 and 5)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscope.pipelines.jobs import compute_indicators, run_indicators
from autoscope.pipelines.periods import label
from tests.pipelines.warehouse_rows import MONDAY, _new_id, add_review, add_spend, add_task, warehouse
from tests.sizes import examples

PEOPLE = [f"p{i}" for i in range(6)]
WEEK2 = MONDAY + dt.timedelta(weeks=1)  # 2026-W38


def add_time(
    conn: duckdb.DuckDBPyConnection, *, actor: str, activity: str, minutes: float, origin: str, at: dt.datetime = MONDAY
) -> None:
    event_id = _new_id(conn, "time_allocation")
    conn.execute(
        "INSERT INTO time_allocations VALUES (?, ?, ?, 't1', 'tool', '1', ?, ?, ?)",
        [event_id, at, actor, activity, minutes, origin],
    )


def cell(frame: pl.DataFrame, indicator: str, metric: str, period: str = "2026-W37", cut: str = "lab") -> dict:
    rows = frame.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("period_type") == ("month" if "-W" not in period else "week"))
        & (pl.col("period") == period)
        & (pl.col("cut") == cut)
    )
    assert rows.height == 1, (indicator, metric, period, rows)
    return rows.row(0, named=True)


def test_survey_answers_win_over_telemetry_and_say_so(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i, person in enumerate(PEOPLE):
        add_time(conn, actor=person, activity="directing_ai", minutes=100 + i, origin="survey")
        add_time(conn, actor=person, activity="reviewing_ai", minutes=50, origin="survey")
        add_time(conn, actor=person, activity="own_work", minutes=850 - i, origin="survey")
        add_time(conn, actor=person, activity="directing_ai", minutes=999, origin="agent_telemetry")
    frame = compute_indicators(conn, k=5)
    share = cell(frame, "time_allocation", "ai_directed_share")
    assert share["value"] == pytest.approx((sum(100 + i for i in range(6)) + 300) / 6000)
    # k counts who answered (the values describe them); events are every figure, telemetry too
    assert (share["n_events"], share["n_actors"]) == (24, 6)
    assert cell(frame, "time_allocation", "directing_share")["value"] == pytest.approx(615 / 6000)
    assert cell(frame, "time_allocation", "reviewing_share")["value"] == pytest.approx(300 / 6000)
    assert cell(frame, "time_allocation", "ai_directed_minutes_per_researcher")["value"] == pytest.approx(915 / 6)
    sources = {
        s: cell(frame, "time_allocation", f"source_{s}")["value"] for s in ("survey", "time_tracking", "measured")
    }
    assert sources == {"survey": 1.0, "time_tracking": 0.0, "measured": 0.0}


def test_without_a_survey_telemetry_and_review_minutes_give_a_lower_bound_in_minutes(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i, person in enumerate(PEOPLE[:4]):
        add_time(conn, actor=person, activity="directing_ai", minutes=60 + i, origin="agent_telemetry")
    ai_task = add_task(conn, actor="p0", executor="ai")
    mixed_task = add_task(conn, actor="p0", executor="mixed")
    human_task = add_task(conn, actor="p0", executor="human")
    add_review(conn, ai_task, "approved", minutes=10, actor="p4")
    add_review(conn, mixed_task, "modified", minutes=20, actor="p5")
    add_review(conn, human_task, "approved", minutes=1000, actor="p5")  # not AI work
    add_review(conn, ai_task, "approved", minutes=1000, actor="p5", oversight="rule")  # nobody's time
    frame = compute_indicators(conn, k=5)
    per = cell(frame, "time_allocation", "ai_directed_minutes_per_researcher")
    assert per["value"] == pytest.approx((60 + 61 + 62 + 63 + 10 + 20) / 6)
    assert (per["n_events"], per["n_actors"]) == (6, 6)
    assert cell(frame, "time_allocation", "ai_directed_share")["value"] is None  # own work unknown
    assert cell(frame, "time_allocation", "source_measured")["value"] == 1.0


def test_time_figures_of_fewer_than_k_researchers_are_suppressed(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for person in PEOPLE[:4]:
        add_time(conn, actor=person, activity="own_work", minutes=100, origin="survey")
    frame = compute_indicators(conn, k=5)
    assert cell(frame, "time_allocation", "ai_directed_share")["suppressed"]


def test_capital_share_counts_data_as_capital_leaves_other_out_and_needs_staff_cost(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    spends = [("compute", 800.0), ("ai_tools", 150.0), ("data", 50.0), ("staff", 3000.0), ("other", 700.0)]
    for person, (category, amount) in zip(PEOPLE, spends, strict=False):
        add_spend(conn, actor=person, category=category, amount=amount)
    add_spend(conn, actor=PEOPLE[5], category="staff", amount=1000.0)
    # week 2: no staff cost reported, so no capital share (it would read 100 %)
    for person in PEOPLE:
        add_spend(conn, actor=person, category="compute", amount=10.0, at=WEEK2)
    frame = compute_indicators(conn, k=5)
    assert cell(frame, "capital_share", "capital_share")["value"] == pytest.approx(1000 / 5000)
    assert cell(frame, "capital_share", "narrow_capital_share")["value"] == pytest.approx(950 / 4950)
    assert cell(frame, "capital_share", "capital_share", "2026-W38")["value"] is None
    # the change needs both periods: W38 has no share, so its change is NULL
    assert cell(frame, "capital_share", "change_capital_share", "2026-W38")["value"] is None


def test_capital_share_change_is_the_difference_of_released_shares(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for week, compute in ((MONDAY, 1000.0), (WEEK2, 3000.0)):
        for person in PEOPLE:
            add_spend(conn, actor=person, category="staff", amount=1000.0, at=week)
            add_spend(conn, actor=person, category="compute", amount=compute, at=week)
    frame = run_indicators(conn, k=5)
    assert cell(frame, "capital_share", "capital_share")["value"] == pytest.approx(0.5)
    assert cell(frame, "capital_share", "capital_share", "2026-W38")["value"] == pytest.approx(0.75)
    assert cell(frame, "capital_share", "change_capital_share", "2026-W38")["value"] == pytest.approx(0.25)
    change = cell(frame, "capital_share", "change_capital_share")
    assert change["value"] is None and change["note"] == "no previous period"


def test_capital_share_is_suppressed_exactly_where_spend_is(tmp_path: Path) -> None:
    """Same cells, counts and actors as spend: the capital share (a function of spend's released
    category shares) is hidden wherever spend is, and released wherever spend is."""
    conn = warehouse(tmp_path / "w.duckdb")
    teams = {"a": 6, "b": 5, "c": 2}
    for team, size in teams.items():
        for i in range(size):
            actor = f"{team}{i}"
            for week in (MONDAY, WEEK2):
                if team == "b" and i == 0 and week == WEEK2:
                    continue
                event_id = _new_id(conn, "spend")
                conn.execute(
                    "INSERT INTO spend (event_id, occurred_at, actor, team, tool, tool_version, category, amount_usd)"
                    " VALUES (?, ?, ?, ?, 'tool', '1', ?, ?)",
                    [event_id, week, actor, team, "staff" if i % 2 else "compute", 100.0 + i],
                )
    frame = compute_indicators(conn, k=5)
    key = ["period_type", "period", "cut", "cut_value"]
    spend = frame.filter((pl.col("indicator") == "spend") & (pl.col("metric") == "share_staff")).select(
        [*key, "suppressed", "n_events", "n_actors"]
    )
    capital = frame.filter((pl.col("indicator") == "capital_share") & (pl.col("metric") == "capital_share")).select(
        [*key, "suppressed", "n_events", "n_actors"]
    )
    assert spend.sort(key).equals(capital.sort(key))
    assert spend["suppressed"].any() and not spend["suppressed"].all()


time_rows = st.lists(
    st.tuples(
        st.integers(0, 14),  # researcher
        st.sampled_from(["a", "b", "c", "d"]),  # team
        st.integers(0, 40),  # day offset (weeks crossing a month end and a quarter end)
        st.sampled_from(["survey", "agent_telemetry"]),  # origin
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(time_rows)
def test_time_allocation_suppression_holds_over_its_cuts(rows: list[tuple[int, str, int, str]]) -> None:
    """Whatever mix of sources: a released cell has k researchers of the source its values come
    from, and where a released total is partitioned by its released team parts, the hidden parts
    rest on k researchers (of every source: each may have given figures the others did not)."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = warehouse(Path(tmp) / "w.duckdb")
        start = dt.datetime(2026, 9, 14, 10)
        for actor, team, day, origin in rows:
            event_id = _new_id(conn, "time_allocation")
            conn.execute(
                "INSERT INTO time_allocations VALUES (?, ?, ?, ?, 'tool', '1', 'directing_ai', 30, ?)",
                [event_id, start + dt.timedelta(days=day), f"r{actor}", team, origin],
            )
        frame = compute_indicators(conn, k=5).filter(
            (pl.col("indicator") == "time_allocation") & (pl.col("metric") == "ai_directed_minutes_per_researcher")
        )
        conn.close()
    people: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for actor, team, day, origin in rows:
        when = start + dt.timedelta(days=day)
        for pt in ("week", "month", "quarter"):
            for cut, value in (("lab", "all"), ("team", team)):
                people[(pt, label(pt, when), cut, value)][origin].add(actor)
    status = {
        tuple(r[:4]): r[4] for r in frame.select(["period_type", "period", "cut", "cut_value", "suppressed"]).rows()
    }
    assert set(status) == set(people)
    for key, hidden in status.items():
        chosen = people[key]["survey"] or people[key]["agent_telemetry"]
        assert hidden or len(chosen) >= 5, key
    for (pt, period, cut, _), hidden in status.items():
        if cut != "lab" or hidden:
            continue
        parts = [k for k in status if k[:2] == (pt, period) and k[2] == "team" and status[k]]
        if parts:
            behind = set().union(*(people[k]["survey"] | people[k]["agent_telemetry"] for k in parts))
            assert len(behind) >= 5, (pt, period, parts)

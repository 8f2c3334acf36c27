"""Differential privacy (noise scale, the epsilon ledger) and the incremental, idempotent job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from autoscope.pipelines import privacy
from autoscope.pipelines.jobs import run
from tests.pipelines.warehouse_rows import add_task, warehouse

W37 = dt.datetime(2026, 9, 7, 10)  # 2026-W37, September, Q3
W41 = dt.datetime(2026, 10, 5, 10)  # 2026-W41, October, Q4


def test_laplace_noise_has_the_scale_of_its_epsilon() -> None:
    # OpenDP draws from the OS's randomness and cannot be seeded: the test's tolerances are set
    # at more than 6 standard errors, so a correct mechanism fails it with probability < 1e-8.
    n, sensitivity, epsilon = 40_000, 3.0, 0.5
    noisy, scale = privacy.laplace(np.zeros(n), sensitivity, epsilon, integer=False)
    assert scale == sensitivity / epsilon
    assert np.mean(np.abs(noisy)) == pytest.approx(scale, rel=0.04)  # E|X| = b, s.e. b/√n = 0.5 %
    assert stats.kstest(noisy, stats.laplace(scale=scale).cdf).pvalue > 1e-6
    assert stats.kstest(noisy, stats.laplace(scale=scale * 1.1).cdf).pvalue < 1e-6, "a wrong scale is detected"
    counts, scale = privacy.laplace(np.full(n, 100), 1, 1.0, integer=True)
    # discrete Laplace (counts stay integers): variance 2·e^(−1/b) / (1 − e^(−1/b))²
    q = np.exp(-1 / scale)
    assert np.all(counts == np.round(counts)) and np.var(counts) == pytest.approx(2 * q / (1 - q) ** 2, rel=0.06)


def _lab(conn, n: int = 6) -> None:
    for i in range(n):
        add_task(conn, actor=f"a{i}", at=W37, executor="ai" if i % 2 else "human", human_minutes=30)


def test_dp_release_is_noisy_recorded_and_refused_past_the_budget(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    _lab(conn, 30)
    # one release charges each period with ε for itself, its month and its quarter (they overlap)
    first = run(conn, epsilon=1.0, budget=3.5)
    share = first.frame.filter(
        (pl.col("indicator") == "automation_share")
        & (pl.col("metric") == "ai_share")
        & (pl.col("cut") == "lab")
        & (pl.col("period_type") == "week")
    ).row(0, named=True)
    assert 0 <= share["value"] <= 1 and share["noise_scale"] == privacy.MAX_EVENTS_PER_ACTOR / (1.0 / 24)
    assert share["n_actors"] is None, "exact actor counts are not released under DP"
    withheld = first.frame.filter(pl.col("indicator") == "task_size")
    assert withheld.height and withheld["value"].null_count() == withheld.height
    assert set(withheld["note"]) <= {
        "suppressed",
        "withheld under differential privacy (no DP mechanism for this statistic)",
    }
    assert conn.execute("SELECT count(*), sum(epsilon) FROM dp_ledger").fetchall() == [(3, 3.0)]
    before = conn.execute("SELECT * FROM indicator_values ORDER BY ALL").fetchall()
    with pytest.raises(privacy.BudgetExceeded, match="budget 3.5"):
        run(conn, epsilon=1.0, budget=3.5, full=True)
    assert conn.execute("SELECT count(*) FROM dp_ledger").fetchall() == [(3,)], "a refused release spends nothing"
    assert conn.execute("SELECT * FROM indicator_values ORDER BY ALL").fetchall() == before


def test_the_ledger_counts_what_one_instant_spends_not_every_overlapping_period(tmp_path: Path) -> None:
    """Four weeks of one month released at ε = 1: every event is in one week, the month and the
    quarter, so 3ε is spent on it (not 4 + 1 + 1 = 6, the sum over periods overlapping Q3)."""
    conn = warehouse(tmp_path / "w.duckdb")
    for week in range(4):
        for i in range(6):
            add_task(conn, actor=f"a{i}", at=W37 + dt.timedelta(days=7 * week))
    run(conn, epsilon=1.0, budget=3.0)  # exactly the budget
    start, end = dt.datetime(2026, 7, 1), dt.datetime(2026, 10, 1)
    assert privacy.spent(conn, start, end) == 3.0
    assert conn.execute("SELECT count(DISTINCT period) FROM dp_ledger WHERE period_type = 'week'").fetchall() == [(4,)]
    with pytest.raises(privacy.BudgetExceeded, match=r"ε = 6 on the events of 2026-09-\d\d \(budget 3\)"):
        run(conn, epsilon=1.0, full=True)  # the budget in force: 3


def test_the_budget_cannot_be_raised_and_dp_cannot_be_dropped(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    _lab(conn, 30)
    run(conn, epsilon=1.0, budget=4.0)
    with pytest.raises(privacy.BudgetExceeded, match="budget is 4 .*not raised to 50"):
        run(conn, epsilon=1.0, budget=50.0, full=True)
    with pytest.raises(privacy.BudgetExceeded, match="pass --epsilon"):
        run(conn, full=True)  # an exact release would undo the noisy one
    rows = conn.execute("SELECT count(*) FROM indicator_values WHERE note LIKE 'ε-DP%'").fetchall()[0][0]
    assert rows > 0, "the DP release is still what is stored"


def test_under_dp_tasks_of_unknown_executor_and_default_sizes_release_no_exact_count(tmp_path: Path) -> None:
    """The exact audit (test_suppression_property.py) models the exact release; under DP the
    automation share's denominator is the noisy count of known-executor tasks, and the counts
    the exact release adds for unknown executors and default sizes (unknown_share,
    measured_share) have no DP mechanism: they are not released with a value, and nothing of
    the task family carries an exact count."""
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(30):
        add_task(
            conn,
            actor=f"a{i}",
            at=W37,
            executor=("ai", "human", "unknown")[i % 3],
            size_source="default" if i % 2 else "measured",
            human_minutes=30,
        )
    frame = run(conn, epsilon=1.0, budget=3.5).frame
    share = frame.filter(pl.col("indicator") == "automation_share")
    assert share.height and set(share["metric"]) <= {"ai_share", "mixed_share", "human_share", "time_weighted_ai_share"}
    assert share.filter(pl.col("value").is_not_null() & pl.col("noise_scale").is_null()).is_empty()
    lab = share.filter((pl.col("metric") == "ai_share") & (pl.col("cut") == "lab") & (pl.col("period_type") == "week"))
    assert lab["note"][0].startswith("ε-DP") and lab["n_actors"][0] is None
    family = frame.filter(
        pl.col("indicator").is_in(["task_size", "ladder", "tasks_involved", "review_frequency", "time_horizon"])
    )
    assert family.height and family["value"].null_count() == family["n_events"].null_count() == family.height


def stored(conn) -> list[tuple]:
    return conn.execute("SELECT * FROM indicator_values ORDER BY ALL").fetchall()


def test_only_quarters_with_new_events_are_recomputed_and_reruns_change_nothing(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", at=W37)
        add_task(conn, actor=f"a{i}", at=W41, executor="human")
    assert run(conn).full
    q3 = conn.execute(
        "SELECT * FROM indicator_values WHERE period IN ('2026-W37', '2026-09', '2026-Q3') ORDER BY ALL"
    ).fetchall()

    add_task(conn, actor="a0", at=W41)  # a new event in Q4
    second = run(conn)
    assert not second.full
    assert "2026-W37" not in second.periods["week"] and "2026-W41" in second.periods["week"]
    assert set(second.periods["quarter"]) == {"2026-Q4"}
    assert (
        conn.execute(
            "SELECT * FROM indicator_values WHERE period IN ('2026-W37', '2026-09', '2026-Q3') ORDER BY ALL"
        ).fetchall()
        == q3
    )
    share = conn.execute(
        "SELECT value FROM indicator_values WHERE indicator = 'automation_share' AND metric = 'ai_share'"
        " AND period = '2026-W41' AND cut = 'lab'"
    ).fetchall()
    assert share == [(1 / 7,)]

    after = stored(conn)
    third = run(conn)
    assert third.frame.height == 0 and stored(conn) == after, "no new events: nothing recomputed, nothing changed"
    # a full recompute gives the same values as the incremental path
    run(conn, full=True)
    strip = lambda rows: sorted(r[:11] + r[12:] for r in rows)  # noqa: E731 (all but computed_at)
    assert strip(stored(conn)) == strip(after)


def test_a_late_event_recomputes_its_old_quarter(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", at=W37)
        add_task(conn, actor=f"a{i}", at=W41)
    run(conn)
    add_task(conn, actor="a1", at=W37, executor="human")  # arrives late, for September
    again = run(conn)
    assert set(again.periods["quarter"]) >= {"2026-Q3"} and "2026-W37" in again.periods["week"]


def test_a_week_straddling_a_quarter_end_is_recomputed(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    monday = dt.datetime(2026, 9, 28, 10)  # 2026-W40: Monday in Q3, Thursday (its group) in Q4
    for i in range(6):
        add_task(conn, actor=f"a{i}", at=monday)
    run(conn)
    add_task(conn, actor="a0", at=monday, executor="human")
    again = run(conn)
    assert "2026-W40" in again.periods["week"] and "2026-09" in again.periods["month"]
    share = conn.execute(
        "SELECT value FROM indicator_values WHERE indicator = 'automation_share'"
        " AND metric = 'ai_share' AND period = '2026-W40' AND cut = 'lab'"
    ).fetchall()
    assert share == [(6 / 7,)]


def test_an_event_in_one_quarter_rehides_a_week_of_the_quarter_before(tmp_path: Path) -> None:
    """2026-W40 (Sep 28 – Oct 4) is a part of September and of October. A new person in October's
    W42 makes October hide W40 too; September then has W40 as its only hidden week, so it must
    hide W38, in Q3, although Q3 had no new event: the incremental run recomputes Q3 with Q4 and
    stores what a full run does."""
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", at=dt.datetime(2026, 9, 14, 10))  # W38
        add_task(conn, actor=f"c{i}", at=dt.datetime(2026, 10, 5, 10))  # W41
    for i in range(5):
        add_task(conn, actor=f"b{i}", at=dt.datetime(2026, 9, 28, 10))  # W40, Monday in September
    run(conn)
    w38 = "SELECT DISTINCT suppressed FROM indicator_values WHERE indicator = 'automation_share' AND period = ?"
    assert conn.execute(w38, ["2026-W38"]).fetchall() == [(False,)]

    add_task(conn, actor="d0", at=dt.datetime(2026, 10, 12, 10))  # W42: one person
    second = run(conn)
    assert not second.full and "2026-Q3" in second.periods["quarter"]
    assert conn.execute(w38, ["2026-W40"]).fetchall() == [(True,)]
    assert conn.execute(w38, ["2026-W38"]).fetchall() == [(True,)]
    incremental = stored(conn)
    run(conn, full=True)
    strip = lambda rows: sorted(r[:11] + r[12:] for r in rows)  # noqa: E731 (all but computed_at)
    assert strip(stored(conn)) == strip(incremental)


def test_the_weeks_with_events_are_iso_weeks_across_year_ends(tmp_path: Path) -> None:
    """The weeks that tie quarters together (jobs._weeks_with_events) come from each event's
    ISO week: days of one calendar year inside the next ISO year's first week, or the previous
    ISO year's last (53rd) week, are labelled as SQL's '%G-W%V' labels them."""
    from autoscope.pipelines.jobs import _weeks_with_events

    conn = warehouse(tmp_path / "w.duckdb")
    days = [
        dt.datetime(2024, 12, 30, 9),  # Monday of 2025-W01
        dt.datetime(2025, 12, 31, 23, 59),  # Wednesday of 2026-W01
        dt.datetime(2027, 1, 3, 12),  # Sunday of 2026-W53
        dt.datetime(2027, 1, 4, 0, 0),  # Monday of 2027-W01
        dt.datetime(2026, 9, 13, 23, 59, 59),  # Sunday of 2026-W37
    ]
    for day in days:
        add_task(conn, actor="a@lab.example", at=day)
    expected = {r[0] for r in conn.execute("SELECT DISTINCT strftime(occurred_at, '%G-W%V') FROM tasks").fetchall()}
    assert expected == {"2025-W01", "2026-W01", "2026-W53", "2027-W01", "2026-W37"}
    assert _weeks_with_events(conn) == expected

"""Known answers for the merged-code indicator (issue 16, item 1): merged lines by class, git
and agent telemetry never added, and survival to the end of the next month and quarter — each
computed in the test from the rows it inserts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from autoscope.pipelines.jobs import compute_indicators, dirty_quarters
from tests.pipelines.test_all_indicators import cell
from tests.pipelines.warehouse_rows import MONDAY, add_contribution, add_line_survival, warehouse

ACTORS = [f"p{i}" for i in range(6)]
W37 = "2026-W37"

#: (first_author, line_class, lines_added, on_default_branch), one commit per actor p0…p5 and more
COMMITS = [
    ("ai", "ai_authored", 100, True),
    ("ai", "ai_coauthored", 300, True),
    ("human", "human", 600, True),
    ("human", "ai_assisted", 200, True),
    ("human", "human", 50, True),
    ("ai", "ai_authored", 5000, False),  # never reached the default branch
    ("automation", "automation", 9000, True),  # a bot: shown apart, in no share
    ("human", "human", None, None),  # lines unknown
]


def add_commits(conn, at: dt.datetime = MONDAY) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        add_contribution(
            conn,
            actor=ACTORS[i % 5] if author != "automation" else "ci-bot",
            first_author=author,
            ai_share=0.5,
            lines_added=lines,
            line_class=line_class,
            on_default_branch=merged,
            at=at,
        )
        for i, (author, line_class, lines, merged) in enumerate(COMMITS)
    ]


def expected_shares() -> dict[str, float]:
    merged = [(c, n) for a, c, n, m in COMMITS if m and a != "automation" and n is not None]
    total = sum(n for _, n in merged)
    by_class = {k: sum(n for c, n in merged if c == k) / total for k in ("ai_authored", "ai_coauthored", "human")}
    by_class["ai_assisted"] = sum(n for c, n in merged if c == "ai_assisted") / total
    return {
        "merged_lines": total,
        "ai_share": by_class["ai_authored"] + by_class["ai_coauthored"],
        **{f"{k}_share": v for k, v in by_class.items()},
        "automation_lines": 9000,
    }


def test_merged_lines_by_class_with_automation_apart(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    add_commits(conn)
    frame = compute_indicators(conn)
    for metric, value in expected_shares().items():
        assert cell(frame, "merged_code", metric, period=W37)["value"] == pytest.approx(value), metric
    lab = cell(frame, "merged_code", "ai_share", period=W37)
    assert (lab["n_events"], lab["n_actors"]) == (5, 5)  # the five merged commits of p0…p4; not the bot
    # the classes partition the merged lines: a line is counted once
    shares = [cell(frame, "merged_code", f"{c}_share", period=W37)["value"] for c in ("ai_authored", "ai_coauthored")]
    rest = [cell(frame, "merged_code", f"{c}_share", period=W37)["value"] for c in ("ai_assisted", "human")]
    assert sum(shares) + sum(rest) == pytest.approx(1.0)
    # the merged-line shares moved here from authorship: never released under two names
    authorship = frame.filter(pl.col("indicator") == "authorship")["metric"].unique().to_list()
    assert not [m for m in authorship if "line" in m], authorship


def test_agent_reported_lines_are_never_added_to_git_lines(tmp_path: Path) -> None:
    """The same lines reported by git (a commit) and by a coding agent's telemetry (its line
    counter in the same week, same people) are counted once, from git."""
    conn = warehouse(tmp_path / "w.duckdb")
    add_commits(conn)
    columns = [
        "indicator",
        "period_type",
        "period",
        "cut",
        "cut_value",
        "metric",
        "value",
        "n_events",
        "n_actors",
        "suppressed",
    ]
    before = compute_indicators(conn).filter(pl.col("indicator") == "merged_code").select(columns).sort(columns[:6])
    for i, (_, _, lines, _) in enumerate(COMMITS[:5]):
        conn.execute(
            "INSERT INTO agent_turn_facts (event_id, occurred_at, actor, team, tool, tool_version, session_id,"
            " kind, lines_added, lines_removed) VALUES (?, ?, ?, 't1', 'claude_code', '2', ?, 'lines', ?, 0)",
            [f"agent-{i}", MONDAY, ACTORS[i], f"s{i}", lines],
        )
    after = compute_indicators(conn).filter(pl.col("indicator") == "merged_code").select(columns).sort(columns[:6])
    assert after.equals(before)
    assert cell(after, "merged_code", "merged_lines", period=W37)["value"] == expected_shares()["merged_lines"]


def test_survival_to_the_end_of_the_next_month_and_quarter(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    ids = add_commits(conn)  # 2026-09-07: month 2026-09 (ends with October), quarter 2026-Q3 (with Q4)
    end_of_october, end_of_q4 = dt.datetime(2026, 11, 1), dt.datetime(2027, 1, 1)
    surviving_month = {0: 40, 1: 300, 2: 540, 4: 50}  # ai_authored 100→40, ai_coauthored 300→300
    surviving_quarter = {0: 10, 1: 150, 2: 300, 4: 20}
    for i, n in surviving_month.items():
        add_line_survival(conn, ids[i], as_of=end_of_october, lines_surviving=n)
    for i, n in surviving_quarter.items():
        add_line_survival(conn, ids[i], as_of=end_of_q4, lines_surviving=n)
    add_line_survival(conn, ids[0], as_of=dt.datetime(2026, 10, 15), lines_surviving=0)  # not a period end: unused
    add_line_survival(conn, ids[3], as_of=end_of_october, lines_surviving=0)  # ai_assisted: in neither side
    add_line_survival(conn, ids[5], as_of=end_of_october, lines_surviving=0)  # never merged: not counted
    frame = compute_indicators(conn)
    month = {"period": "2026-09", "period_type": "month"}
    quarter = {"period": "2026-Q3", "period_type": "quarter"}
    assert cell(frame, "merged_code", "ai_survival_share", **month)["value"] == pytest.approx((40 + 300) / 400)
    assert cell(frame, "merged_code", "human_survival_share", **month)["value"] == pytest.approx((540 + 50) / 650)
    assert cell(frame, "merged_code", "ai_survival_share", **quarter)["value"] == pytest.approx((10 + 150) / 400)
    assert cell(frame, "merged_code", "human_survival_share", **quarter)["value"] == pytest.approx((300 + 20) / 650)
    assert cell(frame, "merged_code", "ai_survival_share", period=W37)["value"] is None  # weeks have none


def test_survival_counts_the_latest_report_and_never_more_than_was_added(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    ids = add_commits(conn)
    end_of_october = dt.datetime(2026, 11, 1)
    add_line_survival(conn, ids[0], as_of=end_of_october, lines_surviving=900)  # more than its 100 lines
    add_line_survival(conn, ids[1], as_of=end_of_october, lines_surviving=0)
    frame = compute_indicators(conn)
    assert cell(frame, "merged_code", "ai_survival_share", period="2026-09", period_type="month")[
        "value"
    ] == pytest.approx((100 + 0) / 400)
    # a commit without a survival count (the human ones here) is left out, not counted as deleted
    assert cell(frame, "merged_code", "human_survival_share", period="2026-09", period_type="month")["value"] is None


def test_a_late_survival_count_makes_its_commits_period_dirty(tmp_path: Path) -> None:
    """Survival arrives a month after its commit's period: the incremental job must recompute
    the commit's quarter, not the quarter of the count."""
    conn = warehouse(tmp_path / "w.duckdb")
    ids = add_commits(conn)
    since = conn.execute("SELECT max(ingested_at) FROM event_ids").fetchall()[0][0]
    conn.execute("UPDATE event_ids SET ingested_at = ingested_at - INTERVAL 1 HOUR")
    add_line_survival(conn, ids[0], as_of=dt.datetime(2027, 1, 1), lines_surviving=1)
    assert "2026-Q3" in dirty_quarters(conn, since - dt.timedelta(minutes=1))

"""Escaped errors by oversight level and what agents may do, over the demo's events (hooks →
collector → Kafka → warehouse → job), each equal to an independent computation over the simulated
lab's plan; the report shows a section and a chart for each and the export has their rows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from autoscope.simulation import DEFAULT_TEAM_CLASSES, plan_lab

pytestmark = pytest.mark.integration
K = 5
CLASSES = {"person": "person_reviewed", "rule": "rule_approved", "never_asked": "never_asked"}
BROAD = ("internet", "secrets", "production_deploy")
#: the demo's team classes: every indicator cut by team is cut by class too (issue 16, item 7)
CLASS_OF = {team: team_class for team_class, teams in DEFAULT_TEAM_CLASSES.items() for team in teams}


def periods(moment) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    year, week, _ = moment.isocalendar()
    return [("week", f"{year}-W{week:02d}"), ("quarter", f"{moment.year}-Q{(moment.month - 1) // 3 + 1}")]


def expected_escaped_errors() -> dict[tuple[str, str, str, str], tuple[float | None, int]]:
    """(metric, period type, period, team or 'all') → (value, people), from the plan."""
    plan = plan_lab()
    modes: dict[str, set[str]] = defaultdict(set)
    escaped: dict[str, list[dict]] = defaultdict(list)
    for event in plan.events:
        f = event.fields
        if event.type == "review":
            mode = f.get("oversight") or "person"
            if not (mode == "person" and f.get("reviewer_kind") == "ai"):  # an AI's review is no person's
                modes[f["task_id"]].add(mode)
        elif event.type == "incident":
            escaped[f.get("introduced_by_task") or f.get("introduced_by_commit")].append(f)
    units: dict[tuple[str, str, str], list[tuple[str, dict]]] = defaultdict(list)
    for event in plan.events:
        f = event.fields
        if event.type == "task" and f["executor"] in ("ai", "human"):
            work_id = f["task_id"]
            unit = "human_task"
            if f["executor"] == "ai":
                unit = next((m for m in ("person", "rule", "never_asked") if m in modes[work_id]), "no_decision")
        elif event.type == "contribution" and f["first_author"] in ("ai", "human"):
            work_id, unit = f["contribution_id"], f"{f['first_author']}_commit"
        else:
            continue
        for period_type, period in periods(f["occurred_at"]):
            for team in (f["team"], CLASS_OF[f["team"]], "all"):
                units[(period_type, period, team)].append((unit, {**f, "escaped": escaped[work_id]}))
    out = {}
    ai_classes = ("person", "rule", "never_asked", "no_decision")
    for (period_type, period, team), rows in units.items():

        def per_100(kinds: tuple[str, ...], only: str | None = None, rows: list = rows) -> float | None:
            chosen = [f for unit, f in rows if unit in kinds]
            hits = sum(1 for f in chosen for i in f["escaped"] if only is None or i["kind"] == only)
            return 100 * hits / len(chosen) if chosen else None

        people = [
            len({f["actor"] for unit, f in rows if unit in kinds})
            for kinds in (ai_classes, ("human_task",), ("ai_commit", "human_commit"))
        ]
        actors = min((n for n in people if n), default=0)
        values = {
            "escaped_per_100_ai_tasks": per_100(ai_classes),
            "escaped_per_100_human_tasks": per_100(("human_task",)),
            "subversion_per_100_ai_tasks": per_100(ai_classes, "subversion"),
            "escaped_per_100_ai_commits": per_100(("ai_commit",)),
            "escaped_per_100_human_commits": per_100(("human_commit",)),
            "escaped_per_100_ai_tasks_no_decision": per_100(("no_decision",)),
            **{f"escaped_per_100_ai_tasks_{name}": per_100((mode,)) for mode, name in CLASSES.items()},
        }
        in_ai = [i for unit, f in rows if unit not in ("human_task", "human_commit") for i in f["escaped"]]
        values["found_by_production_share"] = (
            sum(i["found_by"] == "production" for i in in_ai) / len(in_ai) if in_ai else None
        )
        values["kind_subversion_share"] = sum(i["kind"] == "subversion" for i in in_ai) / len(in_ai) if in_ai else None
        for metric, value in values.items():
            out[(metric, period_type, period, team)] = (value, actors)
    return out


def expected_agent_permissions() -> dict[tuple[str, str, str, str], tuple[float | None, int]]:
    """The same for what agents may do: the latest grant of each scope to the task's own agent
    for its actor, at or before the task (the simulated lab grants and never revokes)."""
    plan = plan_lab()
    grants: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in plan.events:
        if event.type == "permission":
            grants[(event.fields["actor"], event.fields["agent"])].append(event.fields)
    tasks: dict[tuple[str, str, str], list[tuple[dict, dict[str, dict]]]] = defaultdict(list)
    for event in plan.events:
        f = event.fields
        if event.type != "task" or f["executor"] != "ai":
            continue
        held: dict[str, dict] = {}
        for g in sorted(grants[(f["actor"], f.get("tool"))], key=lambda g: g["occurred_at"]):
            if g["occurred_at"] <= f["occurred_at"]:
                held[g["scope"]] = g
        for period_type, period in periods(f["occurred_at"]):
            for team in (f["team"], CLASS_OF[f["team"]], "all"):
                tasks[(period_type, period, team)].append((f, held))
    out = {}
    for key, rows in tasks.items():
        actors = len({f["actor"] for f, _ in rows})
        values = {
            f"share_under_{s}": sum(s in held for _, held in rows) / len(rows)
            for s in ("repo_write", "shell", "job_submission", *BROAD)
        }
        values["share_under_no_approval"] = sum(
            any(g["oversight"] == "never_asked" for g in held.values()) for _, held in rows
        ) / len(rows)
        values["share_without_known_grant"] = sum(not held for _, held in rows) / len(rows)
        for s in BROAD:
            values[f"agents_with_{s}"] = len({(f["actor"], f["tool"]) for f, held in rows if s in held})
        values["agents_with_broad_scope"] = len(
            {(f["actor"], f["tool"]) for f, held in rows if any(s in held for s in BROAD)}
        )
        for metric, value in values.items():
            out[(metric, *key)] = (value, actors)
    return out


def stored(data_dir: Path, indicator: str) -> dict[tuple[str, str, str, str], tuple[float | None, int, bool]]:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = conn.execute(
            "SELECT metric, period_type, period, cut_value, value, n_actors, suppressed FROM indicator_values"
            " WHERE indicator = ? AND cut IN ('lab', 'team', 'team_class') AND period_type IN ('week', 'quarter')",
            [indicator],
        ).fetchall()
    finally:
        conn.close()
    return {tuple(r[:4]): (r[4], r[5], r[6]) for r in rows}


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [("escaped_errors", expected_escaped_errors), ("agent_permissions", expected_agent_permissions)],
)
def test_the_demo_indicator_equals_an_independent_computation(demo_dir: Path, indicator: str, expected) -> None:
    want = expected()
    got = stored(demo_dir, indicator)
    checked = 0
    for key, (value, actors) in want.items():
        assert key in got, key
        got_value, got_actors, suppressed = got[key]
        if actors < K:
            assert suppressed and got_value is None, key
            continue
        if suppressed:  # complementary suppression: nothing shown
            assert got_value is None and got_actors is None, key
            continue
        assert got_actors == actors, key
        assert got_value == (pytest.approx(value) if value is not None else None), key
        checked += 1
    assert checked > 100, checked
    assert all(got[k][2] for k in got if k[3] == "policy"), "the 3-person team is always suppressed"


def test_the_demo_shows_what_the_simulator_intends(demo_dir: Path) -> None:
    """Never-asked AI work lets more errors escape than person-reviewed AI work, human work fewer
    than AI work; a few subversion incidents; agents' leeway widens over the weeks."""
    errors = stored(demo_dir, "escaped_errors")
    for quarter in ("2026-Q3", "2026-Q4"):
        rate = {m: errors[(m, "quarter", quarter, "all")][0] for m, *_ in errors if m.startswith("escaped_per_100")}
        assert rate["escaped_per_100_ai_tasks_never_asked"] > rate["escaped_per_100_ai_tasks_person_reviewed"]
        assert rate["escaped_per_100_human_tasks"] < rate["escaped_per_100_ai_tasks"]
    assert any(v[0] for (m, pt, _, team), v in errors.items() if m == "subversion_per_100_ai_tasks" and team == "all")
    permissions = stored(demo_dir, "agent_permissions")
    weekly = sorted(
        (period, v[0])
        for (m, pt, period, team), v in permissions.items()
        if m == "share_under_internet" and pt == "week" and team == "all"
    )
    assert weekly[0][1] < weekly[-1][1], weekly
    broad = sorted(
        (period, v[0])
        for (m, pt, period, team), v in permissions.items()
        if m == "agents_with_broad_scope" and pt == "week" and team == "all"
    )
    assert all(a[1] <= b[1] for a, b in zip(broad, broad[1:])), broad


def test_the_report_has_a_section_and_a_chart_for_each_in_chromium(data_dir: Path, tmp_path: Path) -> None:
    from autoscope.cli import main
    from tests.report import browser
    from tests.report.report_reader import ReportDom

    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", "2026-Q4", "--out", str(out)]) == 0
    html = browser.dump_dom(out.as_uri())
    dom = ReportDom(html)
    for indicator, metric in (
        ("escaped_errors", "escaped_per_100_ai_tasks_never_asked"),
        ("agent_permissions", "share_under_internet"),
    ):
        assert f'<section class="indicator" data-indicator="{indicator}">' in html, indicator
        shown = [
            c
            for c in dom.cells
            if c["data-indicator"] == indicator and c["data-metric"] == metric and c["data-cut"] == "lab"
        ]
        assert shown and "data-value" in shown[0], (indicator, shown)
        chart = dom.charts[indicator]
        assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20, (indicator, chart)
    assert "per 100 never-asked AI tasks" in html and "agents" in html


def test_the_export_has_their_rows(data_dir: Path, tmp_path: Path) -> None:
    import polars as pl

    from autoscope.cli import main

    out = tmp_path / "filing"
    args = ["export", "--data-dir", str(data_dir), "--period", "2026-Q4", "--format", "parquet", "--out", str(out)]
    assert main(args) == 0
    exported = pl.concat([pl.read_parquet(p) for p in sorted(out.glob("*.parquet"))], how="diagonal_relaxed")
    for indicator, want in (
        ("escaped_errors", expected_escaped_errors),
        ("agent_permissions", expected_agent_permissions),
    ):
        rows = exported.filter(
            (pl.col("indicator") == indicator) & (pl.col("period") == "2026-Q4") & (pl.col("cut") == "lab")
        )
        expected = {
            m: v
            for (m, pt, period, team), (v, _) in want().items()
            if (pt, period, team) == ("quarter", "2026-Q4", "all")
        }
        assert set(expected) <= set(rows["metric"].to_list()), indicator
        for metric, value in expected.items():
            got = rows.filter(pl.col("metric") == metric)["value"].to_list()
            assert got == [pytest.approx(value)] if value is not None else got == [None], (indicator, metric)

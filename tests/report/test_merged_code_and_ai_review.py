"""Issue 16, items 1 and 4, over the real demo (hooks → collector → Kafka → warehouse → job):
merged code written with AI (and its survival) and AI as reviewer equal an independent
computation over the simulated lab's plan, move the way the simulator intends, show in the
report (in Chromium) and are exported."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from autoscope.cli import main
from autoscope.simulation import DEFAULT_TEAM_CLASSES, LabPlan, plan_lab
from tests.report import browser
from tests.report.report_reader import ReportDom, stored

K = 5
#: the demo's team classes: every indicator cut by team is cut by class too (issue 16, item 7)
CLASS_OF = {team: team_class for team_class, teams in DEFAULT_TEAM_CLASSES.items() for team in teams}


def _labels(moment: dt.datetime) -> dict[str, str]:
    year, week, _ = moment.isocalendar()
    return {
        "week": f"{year}-W{week:02d}",
        "month": f"{moment:%Y-%m}",
        "quarter": f"{moment.year}-Q{(moment.month - 1) // 3 + 1}",
    }


def _next_end(moment: dt.datetime, period_type: str) -> dt.datetime:
    months = {"month": 1, "quarter": 3}[period_type]
    index = moment.year * 12 + (moment.month - 1) // months * months + 2 * months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def expected_merged_code(plan: LabPlan) -> dict[tuple[str, str, str, str], tuple[float | None, int]]:
    """(metric, period_type, period, team, team class or 'all') → (value, distinct authors), in plain Python."""
    survival = {
        (e.fields["contribution_id"], e.fields["as_of"]): e.fields["lines_surviving"]
        for e in plan.events
        if e.type == "line_survival"
    }
    cells: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for e in plan.events:
        f = e.fields
        if e.type == "contribution" and f.get("on_default_branch") and f.get("lines_added") is not None:
            if f["first_author"] == "automation":
                continue
            for period_type, period in _labels(f["occurred_at"]).items():
                for team in (f["team"], CLASS_OF[f["team"]], "all"):
                    cells[(period_type, period, team)].append(f)
    out = {}
    for (period_type, period, team), commits in cells.items():
        actors = len({c["actor"] for c in commits})
        total = sum(c["lines_added"] for c in commits)
        ai = [c for c in commits if c["line_class"] in ("ai_authored", "ai_coauthored")]
        human = [c for c in commits if c["line_class"] == "human"]
        out[("merged_lines", period_type, period, team)] = (total, actors)
        out[("ai_share", period_type, period, team)] = (sum(c["lines_added"] for c in ai) / total, actors)
        for name, side in (("ai_survival_share", ai), ("human_survival_share", human)):
            if period_type == "week":
                out[(name, period_type, period, team)] = (None, actors)
                continue
            known = [
                (c["lines_added"], survival[(c["contribution_id"], _next_end(c["occurred_at"], period_type))])
                for c in side
                if (c["contribution_id"], _next_end(c["occurred_at"], period_type)) in survival
            ]
            added = sum(a for a, _ in known)
            out[(name, period_type, period, team)] = (
                sum(min(a, s) for a, s in known) / added if added else None,
                actors,
            )
    return out


def expected_ai_review(plan: LabPlan) -> dict[tuple[str, str, str, str], tuple[float | None, int]]:
    """(metric, period_type, period, team, team class or 'all') → (value, people for k), in plain Python."""
    reviews: dict[str, list[dict]] = defaultdict(list)
    for e in plan.events:
        if e.type == "review":
            reviews[e.fields["task_id"]].append(e.fields)
    cells: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for e in plan.events:
        if e.type == "task" and e.fields["executor"] == "ai":
            for period_type, period in _labels(e.fields["occurred_at"]).items():
                for team in (e.fields["team"], CLASS_OF[e.fields["team"]], "all"):
                    cells[(period_type, period, team)].append(e.fields)
    out = {}
    for (period_type, period, team), tasks in cells.items():
        of = [[r for r in reviews[t["task_id"]] if r.get("oversight") in (None, "person")] for t in tasks]
        by_ai = [[r.get("reviewer_kind") == "ai" for r in rs] for rs in of]
        people = {r["reviewer"] for rs in of for r in rs if r.get("reviewer_kind") != "ai"}
        actors = len({t["actor"] for t in tasks})
        actors = min(actors, len(people)) if people else actors
        n_reviews = sum(len(x) for x in by_ai)
        out[("ai_review_share", period_type, period, team)] = (
            sum(sum(x) for x in by_ai) / n_reviews if n_reviews else None,
            actors,
        )
        out[("ai_reviewed_share", period_type, period, team)] = (sum(any(x) for x in by_ai) / len(tasks), actors)
        out[("ai_only_reviewed_share", period_type, period, team)] = (
            sum(bool(x) and all(x) for x in by_ai) / len(tasks),
            actors,
        )
    return out


def _stored(data_dir: Path, indicator: str) -> dict[tuple[str, str, str, str], dict]:
    table = stored(data_dir / "warehouse.duckdb").filter(
        (pl.col("indicator") == indicator) & pl.col("cut").is_in(["lab", "team", "team_class"])
    )
    return {(r["metric"], r["period_type"], r["period"], r["cut_value"]): r for r in table.iter_rows(named=True)}


def _compare(expected: dict, got: dict) -> int:
    checked = 0
    for key, (value, actors) in expected.items():
        row = got[key]
        if actors < K:
            assert row["suppressed"] and row["value"] is None, key
            continue
        if row["suppressed"]:  # complementary: shields a smaller cell of the same breakdown
            assert row["value"] is None and key[3] != "all", key
            continue
        assert row["n_actors"] == actors, key
        assert row["value"] == pytest.approx(value) if value is not None else row["value"] is None, key
        checked += value is not None
    return checked


def test_merged_code_equals_an_independent_computation_over_the_demo(data_dir: Path) -> None:
    expected = expected_merged_code(plan_lab())
    got = _stored(data_dir, "merged_code")
    assert _compare(expected, got) > 100
    # what the simulator intends: the AI share of merged lines rises; AI lines survive less than
    # human ones at first and catch up later
    weekly = sorted(
        (k[2], v[0]) for k, v in expected.items() if k[0] == "ai_share" and k[1] == "week" and k[3] == "all"
    )
    assert weekly[-1][1] > weekly[0][1] + 0.2, weekly
    month = {k[2]: got[k]["value"] for k in got if k[1] == "month" and k[3] == "all" and k[0] == "ai_survival_share"}
    human = {k[2]: got[k]["value"] for k in got if k[1] == "month" and k[3] == "all" and k[0] == "human_survival_share"}
    assert month["2026-08"] < month["2026-09"] < month["2026-10"] <= human["2026-10"] + 1e-9, (month, human)
    assert human["2026-08"] - month["2026-08"] > human["2026-10"] - month["2026-10"]


def test_ai_review_equals_an_independent_computation_over_the_demo(data_dir: Path) -> None:
    expected = expected_ai_review(plan_lab())
    got = _stored(data_dir, "ai_review")
    assert _compare(expected, got) > 100
    weekly = sorted(
        (k[2], got[k]["value"]) for k in got if k[0] == "ai_only_reviewed_share" and k[1] == "week" and k[3] == "all"
    )
    assert weekly[-1][1] > weekly[0][1] + 0.15, weekly  # AI-only review of AI work rises
    share = sorted(
        (k[2], got[k]["value"]) for k in got if k[0] == "ai_review_share" and k[1] == "week" and k[3] == "all"
    )
    assert share[-1][1] > share[0][1], share


def test_report_shows_both_sections_in_chromium(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", "2026-Q3", "--out", str(out)]) == 0
    dom = ReportDom(browser.dump_dom(out.as_uri()))
    for key, metrics in (
        ("merged_code", ("ai_share", "ai_survival_share", "human_survival_share")),
        ("ai_review", ("ai_review_share", "ai_only_reviewed_share")),
    ):
        chart = dom.charts[key]
        assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20, (key, chart)
        for metric in metrics:
            shown = [
                c
                for c in dom.cells
                if c["data-indicator"] == key and c["data-metric"] == metric and c["data-cut"] == "lab"
            ]
            assert shown and "data-value" in shown[0] and shown[0]["text"].strip().endswith("%"), (key, metric, shown)


@pytest.mark.parametrize("fmt", ["csv"])
def test_export_has_the_rows(data_dir: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "filing"
    assert main(["export", "--data-dir", str(data_dir), "--period", "2026-Q3", "--format", fmt, "--out", str(out)]) == 0
    exported = pl.concat([pl.read_csv(p, infer_schema_length=0) for p in sorted(out.glob("*.csv"))], how="diagonal")
    for indicator, metric in (
        ("merged_code", "ai_share"),
        ("merged_code", "ai_survival_share"),
        ("ai_review", "ai_only_reviewed_share"),
    ):
        rows = exported.filter(
            (pl.col("indicator") == indicator) & (pl.col("metric") == metric) & (pl.col("period") == "2026-Q3")
        )
        assert rows.filter(pl.col("cut") == "lab")["value"].cast(pl.Float64).is_not_null().all(), (indicator, metric)

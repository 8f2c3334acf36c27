"""Issue 16, items 3 and 5, over the real demo (hooks → collector → Kafka → warehouse → job):
researcher time allocation and the capital share of R&D spending equal a computation of our
own over the simulator's planned events (not through the indicator code), the report shows a
section and a chart for each in Chromium, and the export carries their rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from autoscope.cli import main
from autoscope.simulation import DEFAULT_TEAM_CLASSES, ai_directed_time_share, capital_share, plan_lab
from tests.report import browser
from tests.report.report_reader import CHARTS, ReportDom, stored

CAPITAL = ("compute", "ai_tools", "data")
#: the demo's team classes: every indicator cut by team is cut by class too (item 7)
CLASS_OF = {team: team_class for team_class, teams in DEFAULT_TEAM_CLASSES.items() for team in teams}


def week_of(when: dt.datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def planned_by_week() -> dict[tuple[str, str], dict]:
    """Per (ISO week, team, team class or "all"): the planned spend by category, time figures by origin and
    activity, review minutes of AI and mixed tasks, and who gave each kind of figure."""
    plan = plan_lab()  # the demo's seed and weeks
    executor = {e.fields["task_id"]: e.fields["executor"] for e in plan.events if e.type == "task"}
    out: dict[tuple[str, str], dict] = defaultdict(
        lambda: {
            "spend": defaultdict(float),
            "minutes": defaultdict(float),
            "people": defaultdict(set),
            "n": defaultdict(int),
        }
    )
    for event in plan.events:
        f = event.fields
        week = week_of(f["occurred_at"])
        for key in ((week, f["team"]), (week, CLASS_OF[f["team"]]), (week, "all")):
            cell = out[key]
            if event.type == "spend":
                cell["spend"][f["category"]] += f["amount_usd"]
            elif event.type == "time_allocation":
                source = "survey" if f["origin"] == "survey" else "measured"
                cell["minutes"][(source, f["activity"])] += f["minutes"]
                cell["people"][source].add(f["actor"])
                cell["n"][source] += 1
            elif (
                event.type == "review"
                and executor.get(f["task_id"]) in ("ai", "mixed")
                # a person's own review: not a rule's or nobody's, not an AI reviewer's
                and (f.get("oversight") or "person") == "person"
                and (f.get("reviewer_kind") or "person") == "person"
            ):
                cell["minutes"][("measured", "reviewing_ai")] += f["minutes"]
                cell["people"]["measured"].add(f["reviewer"])
                cell["n"]["measured"] += 1
    return out


@pytest.fixture(scope="module")
def table(demo_dir: Path) -> pl.DataFrame:
    return stored(demo_dir / "warehouse.duckdb").filter(pl.col("period_type") == "week")


def released(table: pl.DataFrame, indicator: str, metric: str) -> dict[tuple[str, str], float | None]:
    rows = table.filter((pl.col("indicator") == indicator) & (pl.col("metric") == metric) & ~pl.col("suppressed"))
    return {(r["period"], r["cut_value"]): r["value"] for r in rows.iter_rows(named=True)}


def test_capital_share_equals_our_own_sum_of_the_planned_spend(table: pl.DataFrame) -> None:
    planned = planned_by_week()
    shares = released(table, "capital_share", "capital_share")
    # every week lab-wide, and teams of k people or more (policy, below k, is suppressed and one
    # more team with it, to protect it from the lab-wide total)
    assert sum(team == "all" for _, team in shares) == 8 and len(shares) >= 8 * 3
    for key, value in shares.items():
        spend = planned[key]["spend"]
        capital = sum(spend[c] for c in CAPITAL)
        assert value == pytest.approx(capital / (capital + spend["staff"]), rel=1e-9), key
    # it rises as the simulator intends (compute / (compute + staff) = capital_share(week),
    # a little more with the AI-tool spend), and the change is the difference of released weeks
    lab = [shares[(w, "all")] for w in sorted({w for w, _ in shares})]
    assert all(b > a for a, b in zip(lab, lab[1:]))
    for week, value in enumerate(lab):
        assert capital_share(week) < value < capital_share(week) + 0.01
    changes = released(table, "capital_share", "change_capital_share")
    weeks = sorted({w for w, _ in shares})
    for before, after in zip(weeks, weeks[1:]):
        assert changes[(after, "all")] == pytest.approx(shares[(after, "all")] - shares[(before, "all")])


def test_time_allocation_equals_our_own_computation_and_says_its_source(table: pl.DataFrame) -> None:
    planned = planned_by_week()
    shares = released(table, "time_allocation", "ai_directed_share")
    per_researcher = released(table, "time_allocation", "ai_directed_minutes_per_researcher")
    from_survey = released(table, "time_allocation", "source_survey")
    measured = released(table, "time_allocation", "source_measured")
    assert sum(team == "all" for _, team in per_researcher) == 8 and len(per_researcher) >= 8 * 3
    surveyed_weeks = 0
    for key, minutes in per_researcher.items():
        cell = planned[key]
        source = "survey" if cell["n"]["survey"] else "measured"
        assert (from_survey[key], measured[key]) == ((1.0, 0.0) if source == "survey" else (0.0, 1.0)), key
        ai = cell["minutes"][(source, "directing_ai")] + cell["minutes"][(source, "reviewing_ai")]
        assert minutes == pytest.approx(ai / len(cell["people"][source])), key
        if source == "survey":
            surveyed_weeks += key[1] == "all"
            everything = ai + cell["minutes"][(source, "own_work")]
            assert shares[key] == pytest.approx(ai / everything), key
            week = sorted({w for w, _ in per_researcher}).index(key[0])
            assert shares[key] == pytest.approx(ai_directed_time_share(week), abs=1e-4)  # as intended
        else:
            assert shares[key] is None, "no own-work figure: no share, only the lower bound in minutes"
    assert surveyed_weeks == 4
    n = table.filter(
        (pl.col("indicator") == "time_allocation")
        & (pl.col("metric") == "ai_directed_share")
        & (pl.col("cut") == "lab")
    )
    for row in n.iter_rows(named=True):  # k counts the researchers of the source used; events are all figures
        cell = planned[(row["period"], "all")]
        source = "survey" if cell["n"]["survey"] else "measured"
        assert (row["n_events"], row["n_actors"]) == (sum(cell["n"].values()), len(cell["people"][source]))


def test_policy_team_below_k_is_suppressed_in_both(table: pl.DataFrame) -> None:
    for indicator in ("time_allocation", "capital_share"):
        policy = table.filter((pl.col("indicator") == indicator) & (pl.col("cut_value") == "policy"))
        assert policy.height and policy["suppressed"].all(), indicator


def test_report_shows_a_section_and_a_chart_for_each(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", "2026-Q4", "--out", str(out)]) == 0
    dom = ReportDom(browser.dump_dom(out.as_uri()))
    assert {"time_allocation", "capital_share"} <= set(CHARTS) <= set(dom.charts)
    for key in ("time_allocation", "capital_share"):
        chart = dom.charts[key]
        values = [v for line in chart["series"]["series"] for v in line["values"] if v is not None]
        assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20 and len(values) >= 3, key
    # the demo's even weeks have no survey: the chart says why they have no share
    assert "Weeks with no survey or time tracking (W36, W38, W40, W42) have no share" in " ".join(
        dom.charts["time_allocation"]["text"].split()
    )
    cells = {(c["data-indicator"], c["data-metric"], c.get("data-cut-value")): c["text"] for c in dom.cells}
    assert cells[("capital_share", "capital_share", "all")].strip().endswith("%")
    assert "pts" in cells[("capital_share", "change_capital_share", "all")]
    # 2026-Q4 has surveyed weeks: the quarter's shares come from the survey, and the table says so
    assert cells[("time_allocation", "source_survey", "all")].strip() == "used"
    assert cells[("time_allocation", "source_measured", "all")].strip() == "not used"
    assert cells[("time_allocation", "ai_directed_share", "all")].strip().endswith("%")
    text = out.read_text()
    assert "Researcher time allocation" in text and "Capital share of R&amp;D spending" in text
    assert "· GovAI (2026): capital share of AI R&amp;D spending" in text  # what it answers, not a Table 1 row


def test_export_has_their_rows(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "filing"
    assert (
        main(["export", "--data-dir", str(data_dir), "--period", "2026-Q4", "--format", "csv", "--out", str(out)]) == 0
    )
    exported = pl.concat(
        [pl.read_csv(p, infer_schema_length=None) for p in sorted(out.glob("*.csv"))], how="diagonal_relaxed"
    )
    for indicator, metric in (("time_allocation", "ai_directed_share"), ("capital_share", "capital_share")):
        rows = exported.filter(
            (pl.col("indicator") == indicator) & (pl.col("metric") == metric) & (pl.col("period") == "2026-Q4")
        )
        assert rows.height >= 5 and rows.filter(pl.col("cut") == "lab")["value"].is_not_null().all(), indicator

"""Team classes over the real demo (hooks → collector → Kafka → warehouse → job, with the
simulated lab's classes configured): the class cut equals a computation over the simulator's
planned events that shares no code with the job; the report shows a "by team class" section in
Chromium; the export carries the class rows and the mapping; a re-classification re-derives
every period."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.cli import main
from autoscope.simulation import DEFAULT_TEAM_CLASSES, plan_lab
from tests.report import browser
from tests.report.report_reader import ReportDom, stored

CLASS_OF = {team: team_class for team_class, teams in DEFAULT_TEAM_CLASSES.items() for team in teams}


def _week(when: dt.datetime) -> str:
    return when.strftime("%G-W%V")


def _planned_by_class(event_type: str) -> dict[tuple[str, str], list[dict]]:
    """(ISO week, class) → the planned events of that type (the demo's seed and weeks)."""
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in plan_lab().events:
        if event.type == event_type:
            out[(_week(event.fields["occurred_at"]), CLASS_OF[event.fields["team"]])].append(event.fields)
    return out


def _released(data_dir: Path, indicator: str, metric: str) -> dict[tuple[str, str], dict]:
    table = stored(data_dir / "warehouse.duckdb").filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("period_type") == "week")
        & (pl.col("cut") == "team_class")
    )
    return {(r["period"], r["cut_value"]): r for r in table.iter_rows(named=True)}


def test_automation_share_by_class_equals_the_planned_tasks(data_dir: Path) -> None:
    planned = _planned_by_class("task")
    released = _released(data_dir, "automation_share", "ai_share")
    assert set(released) == set(planned), "one class cell per week and class with tasks"
    shown = 0
    for key, tasks in planned.items():
        row = released[key]
        if row["suppressed"]:
            continue
        known = [t for t in tasks if t["executor"] != "unknown"]
        assert row["n_events"] == len(tasks), key
        assert row["n_actors"] == len({t["actor"] for t in tasks}), key
        assert row["value"] == pytest.approx(sum(t["executor"] == "ai" for t in known) / len(known)), key
        shown += 1
    assert shown == len(planned), "every class has at least k people every week: none is hidden"
    weeks = sorted({week for week, _ in planned})
    for week in weeks:  # what the simulator intends: safety delegates less than capabilities
        share = {c: released[(week, c)]["value"] for c in DEFAULT_TEAM_CLASSES}
        assert share["safety"] < share["capabilities"], (week, share)
    first, last = weeks[0], weeks[-1]  # and both rise
    assert all(released[(last, c)]["value"] > released[(first, c)]["value"] for c in DEFAULT_TEAM_CLASSES)


def test_safety_is_shown_where_its_small_team_is_not(data_dir: Path) -> None:
    """policy (3 people) is under k: its cells are suppressed, and then so is evals (else the
    safety class less evals is policy), yet the safety class itself is released every week."""
    table = stored(data_dir / "warehouse.duckdb").filter(
        (pl.col("indicator") == "automation_share")
        & (pl.col("metric") == "ai_share")
        & (pl.col("period_type") == "week")
    )
    teams = table.filter(pl.col("cut") == "team")
    assert teams.filter(pl.col("cut_value") == "policy")["suppressed"].all()
    assert teams.filter(pl.col("cut_value") == "evals")["suppressed"].all()
    safety = table.filter((pl.col("cut") == "team_class") & (pl.col("cut_value") == "safety"))
    assert safety.height == 8 and not safety["suppressed"].any()


def test_authorship_by_class_equals_the_planned_contributions(data_dir: Path) -> None:
    """A second indicator, over another event table, gets the class cut without listing it."""
    planned = _planned_by_class("contribution")
    released = _released(data_dir, "authorship", "ai_first_author_share")
    assert set(released) == set(planned)
    shown = 0
    for key, commits in planned.items():
        row = released[key]
        if row["suppressed"]:  # hidden to protect a straddling week's month: checked where shown
            continue
        assert row["n_events"] == len(commits)
        assert row["value"] == pytest.approx(sum(c["first_author"] == "ai" for c in commits) / len(commits))
        shown += 1
    assert shown >= len(planned) - 2, f"{shown} of {len(planned)} class-weeks shown"


def test_every_indicator_cut_by_team_is_cut_by_class(data_dir: Path) -> None:
    table = stored(data_dir / "warehouse.duckdb")
    by_team = set(table.filter(pl.col("cut") == "team").select(["indicator", "metric"]).unique().iter_rows())
    by_class = set(table.filter(pl.col("cut") == "team_class").select(["indicator", "metric"]).unique().iter_rows())
    assert by_team and by_team == by_class
    classes = set(table.filter(pl.col("cut") == "team_class")["cut_value"].unique().to_list())
    assert classes == set(DEFAULT_TEAM_CLASSES)  # every simulated team is in a class: no "unclassified"


def test_report_shows_the_by_class_view_in_chromium(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report-2026-Q4.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", "2026-Q4", "--out", str(out)]) == 0
    dom_text = browser.dump_dom(out.as_uri())
    dom = ReportDom(dom_text)
    assert 'id="by-class"' in dom_text and 'data-section="team_class"' in dom_text
    for team_class in DEFAULT_TEAM_CLASSES:
        assert f'data-team-class="{team_class}"' in dom_text
    chart = dom.charts["team_class"]
    assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20
    labels = {line["label"] for line in chart["series"]["series"]}
    assert set(DEFAULT_TEAM_CLASSES) <= labels
    # the class cells shown are the stored ones
    table = stored(data_dir / "warehouse.duckdb")
    class_cells = [c for c in dom.cells if c.get("data-cut") == "team_class" and c.get("data-period") == "2026-Q4"]
    assert {c["data-cut-value"] for c in class_cells} == set(DEFAULT_TEAM_CLASSES)
    for c in class_cells:
        row = table.filter(
            (pl.col("indicator") == c["data-indicator"])
            & (pl.col("metric") == c["data-metric"])
            & (pl.col("period") == "2026-Q4")
            & (pl.col("cut") == "team_class")
            & (pl.col("cut_value") == c["data-cut-value"])
        )
        assert row.height == 1 and (c.get("data-suppressed") == "true") == row["suppressed"][0]
    browser.screenshot(out.as_uri(), "report-2026-Q4-by-class.png")


def test_export_has_class_rows_and_the_mapping(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "filing"
    assert (
        main(["export", "--data-dir", str(data_dir), "--period", "2026-Q3", "--format", "json", "--out", str(out)]) == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["team_classes"]["classes"] == {c: sorted(t) for c, t in sorted(DEFAULT_TEAM_CLASSES.items())}
    rows = json.loads((out / "automation_share.json").read_text())
    classes = {r["cut_value"] for r in rows if r["cut"] == "team_class"}
    assert classes == set(DEFAULT_TEAM_CLASSES)


def test_reclassifying_a_team_rederives_every_period(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """Classes apply at compute time: moving evals to capabilities recomputes in full, and the
    stored safety class is then policy alone (under k: suppressed everywhere)."""
    monkeypatch.setenv("AUTOSCOPE_TEAM_CLASSES", "safety=policy;capabilities=pretraining,post-training,evals")
    assert main(["indicators", "--data-dir", str(data_dir)]) == 0
    table = stored(data_dir / "warehouse.duckdb").filter(pl.col("cut") == "team_class")
    safety = table.filter(pl.col("cut_value") == "safety")
    assert safety.height and safety["suppressed"].all()
    assert set(table["cut_value"].unique().to_list()) == {"safety", "capabilities", "unclassified"}
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        mapping = dict(conn.execute("SELECT team, team_class FROM team_classes").fetchall())
    finally:
        conn.close()
    assert mapping == {
        "policy": "safety",
        "pretraining": "capabilities",
        "post-training": "capabilities",
        "evals": "capabilities",
    }
    monkeypatch.setenv("AUTOSCOPE_TEAM_CLASSES", "")  # no classes: no class cut at all
    assert main(["indicators", "--data-dir", str(data_dir)]) == 0
    assert stored(data_dir / "warehouse.duckdb").filter(pl.col("cut") == "team_class").is_empty()


def test_a_bad_class_configuration_is_refused_naming_the_team(data_dir: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text('[indicators.team_classes]\nsafety = ["evals"]\ncapabilities = ["evals"]\n')
    assert main(["indicators", "--data-dir", str(data_dir), "--config", str(config)]) == 2
    said = capsys.readouterr()
    assert "'evals' is in two classes" in said.err + said.out

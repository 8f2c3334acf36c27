"""The report file: drawn in headless Chromium, self-contained, every number traceable to its cell."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from autoscope.cli import main
from autoscope.pipelines.report.data import parse_period
from autoscope.pipelines.report.summary import moves, words
from tests.report import browser
from tests.report.report_reader import CHARTS, ReportDom, stored


def _report(data_dir: Path, period: str, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / f"report-{period}.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", period, "--out", str(out), *extra]) == 0
    return out


def test_report_draws_in_chromium_and_labels_suppressed_cells(data_dir: Path, tmp_path: Path) -> None:
    out = _report(data_dir, "2026-Q4", tmp_path)
    dom = ReportDom(browser.dump_dom(out.as_uri()))
    assert set(CHARTS) == set(dom.charts), dom.charts.keys()
    for key in CHARTS:  # every chart the issue asks for drew, with its data
        chart = dom.charts[key]
        assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20, (key, chart)
        assert any(v is not None for line in chart["series"]["series"] for v in line["values"]), key
    # the demo's smallest team is below k: its cells read "suppressed" and why, never blank
    suppressed = [c for c in dom.cells if c.get("data-suppressed") == "true"]
    assert suppressed and all(c["text"].strip().startswith("suppressed (") for c in suppressed)
    assert "suppressed" in dom.charts["automation_share"]["text"]  # and the chart says which points
    shot = browser.screenshot(out.as_uri(), "report-2026-Q4.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_is_self_contained(data_dir: Path, tmp_path: Path) -> None:
    text = _report(data_dir, "2026-Q3", tmp_path).read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert not re.search(r"<link\b|<script\b[^>]*\bsrc=|@import|url\(\s*['\"]?https?:", text)
    assert "@media print" in text and text.count("<details>") >= 5  # definitions one click away
    assert "2026-Q3" in text and "2026-Q2: no data" in text  # nothing before the demo's first quarter


def test_numbers_in_report_equal_the_table(data_dir: Path, tmp_path: Path) -> None:
    out = _report(data_dir, "2026-Q4", tmp_path)
    table = stored(data_dir / "warehouse.duckdb")
    dom = ReportDom(out.read_text(encoding="utf-8"))
    checked = 0
    for cell in dom.cells:
        ptype = parse_period(cell["data-period"]).period_type
        row = table.filter(
            (pl.col("indicator") == cell["data-indicator"])
            & (pl.col("metric") == cell["data-metric"])
            & (pl.col("period_type") == ptype)
            & (pl.col("period") == cell["data-period"])
            & (pl.col("cut") == cell["data-cut"])
            & (pl.col("cut_value") == cell["data-cut-value"])
        )
        assert row.height == 1, cell
        if cell.get("data-suppressed") == "true":
            assert row["suppressed"][0] and row["value"][0] is None
        elif "data-value" in cell:
            assert float(cell["data-value"]) == row["value"][0]  # the very same double
            checked += 1
    assert checked > 50
    # the headline: time-weighted AI share of 2026-Q4, lab-wide, as stored
    headline = [
        c
        for c in dom.cells
        if c["data-metric"] == "time_weighted_ai_share" and c["data-period"] == "2026-Q4" and c["data-cut"] == "lab"
    ]
    expected = table.filter(
        (pl.col("metric") == "time_weighted_ai_share") & (pl.col("period") == "2026-Q4") & (pl.col("cut") == "lab")
    )["value"][0]
    assert headline and float(headline[0]["data-value"]) == expected
    assert f"{expected:.1%}".replace("%", " %") in headline[0]["text"]


def test_summary_names_what_moved_most(data_dir: Path, tmp_path: Path) -> None:
    out = _report(data_dir, "2026-Q4", tmp_path)
    table = stored(data_dir / "warehouse.duckdb")
    # independently: the lab-wide share metric with the largest change from 2026-Q3 to 2026-Q4
    lab = table.filter(
        (pl.col("cut") == "lab")
        & (pl.col("period_type") == "quarter")
        & ~pl.col("suppressed")
        & pl.col("metric").str.contains(r"(_share|_rate)$|^share_")
    )
    wide = lab.pivot(on="period", index=["indicator", "metric"], values="value").drop_nulls()
    biggest = wide.with_columns(change=(pl.col("2026-Q4") - pl.col("2026-Q3")).abs()).sort("change").row(-1, named=True)
    text = out.read_text(encoding="utf-8")
    summary = text[
        text.index('<section class="summary">') : text.index("</section>", text.index('<section class="summary">'))
    ]
    items = summary.split("</li>")  # Q4 is partial: a caveat comes first, then the largest move
    assert 'data-caveat="unlike"' in items[0]
    assert words(biggest["indicator"], biggest["metric"]) in items[1]
    assert f"{abs(biggest['2026-Q4'] - biggest['2026-Q3']) * 100:.1f} percentage points" in summary
    assert moves(table, parse_period("2026-Q4"))[0].metric == biggest["metric"]


def test_indicators_not_yet_computed_are_listed_not_fatal(data_dir: Path, tmp_path: Path) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    conn.execute("DELETE FROM indicator_values WHERE indicator <> 'automation_share'")
    conn.close()
    text = _report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8")
    dom = ReportDom(text)
    assert not dom.charts["automation_share"]["pending"]
    assert dom.charts["review_frequency"]["pending"] and "not yet computed" in dom.charts["review_frequency"]["text"]
    # drawn all the same: axes and the label (the class chart is the automation share by class)
    for key in set(CHARTS) - {"automation_share", "team_class"}:
        assert dom.charts[key]["svg"] == 1 and "not yet computed" in dom.charts[key]["text"], key
    assert "Human review frequency (Table 1: human review frequency) — not yet computed" in text


def test_report_refuses_a_malformed_period(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", "--data-dir", str(data_dir), "--period", "Q3-2026", "--out", str(tmp_path / "x.html")]) == 2
    assert "must look like 2026-Q3" in capsys.readouterr().err  # an argument error: one line on stderr


def test_report_of_a_release_under_differential_privacy(data_dir: Path, tmp_path: Path) -> None:
    from autoscope.pipelines.jobs import run

    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    run(conn, epsilon=1.0, budget=100)
    conn.close()
    text = _report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8")
    table = stored(data_dir / "warehouse.duckdb")
    dom = ReportDom(text)
    withheld = [c for c in dom.cells if c.get("data-withheld") == "true"]
    assert withheld and all(c["text"].strip() == "withheld (differential privacy)" for c in withheld)
    for cell in withheld:  # withheld by the DP job: released (not suppressed) but without a value
        row = table.filter(
            (pl.col("indicator") == cell["data-indicator"])
            & (pl.col("metric") == cell["data-metric"])
            & (pl.col("period") == cell["data-period"])
            & (pl.col("cut") == cell["data-cut"])
            & (pl.col("cut_value") == cell["data-cut-value"])
        )
        assert row.height == 1 and not row["suppressed"][0] and row["value"][0] is None
    assert {c["data-indicator"] for c in withheld} >= {"review_frequency", "experiment_compute"}
    noisy = [c for c in dom.cells if c["data-indicator"] == "automation_share" and "data-value" in c]
    assert noisy and all(
        float(c["data-value"])
        == table.filter(
            (pl.col("indicator") == "automation_share")
            & (pl.col("metric") == c["data-metric"])
            & (pl.col("period") == c["data-period"])
            & (pl.col("cut") == c["data-cut"])
            & (pl.col("cut_value") == c["data-cut-value"])
        )["value"][0]
        for c in noisy
    )
    assert "n: ≈ " in text and "events (noisy count), people withheld (differential privacy)" in text
    for key in CHARTS:  # charts of withheld values still draw, and say why they are empty
        chart = dom.charts[key]
        assert chart["svg"] == 1 and chart["drawing"] > 10, key
        if key not in ("automation_share", "team_class"):  # the class chart: the noisy lab line only
            assert chart["pending"] and "withheld (differential privacy)" in chart["text"], key
    assert "with differential privacy (ε = 1 for 2026-Q4)" in text
    assert "None" not in re.sub(r"<svg.*?</svg>", "", text, flags=re.S)


def test_doubling_time_card_shows_only_the_periods_own(data_dir: Path, tmp_path: Path) -> None:
    def card(text: str) -> str:
        start = text.index("50 % time horizon and its doubling time")
        return text[start : text.index('<div class="card">', start)]

    quarter = card(_report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8"))
    assert "doubling time: " in quarter and "not meaningful for 2026-Q4" in quarter
    assert 'data-metric="doubling_time_days"' not in quarter  # no week's value on a quarter's card
    week = card(_report(data_dir, "2026-W43", tmp_path).read_text(encoding="utf-8"))
    assert 'data-metric="doubling_time_days" data-period="2026-W43"' in " ".join(week.split())


def test_chart_of_suppressed_points_draws_and_says_so(data_dir: Path, tmp_path: Path) -> None:
    table = stored(data_dir / "warehouse.duckdb")
    team = (
        table.filter(
            (pl.col("indicator") == "review_frequency") & (pl.col("cut") == "team") & (pl.col("period_type") == "week")
        )
        .group_by("cut_value")
        .agg(pl.col("suppressed").all(), under_k=(pl.col("suppression_reason") == "too_few_people").all())
    )
    small = sorted(team.filter(pl.col("suppressed") & pl.col("under_k"))["cut_value"].to_list())
    assert small  # the demo has a team below k in every week (evals is hidden beside it, as k or more)
    dom = ReportDom(_report(data_dir, "2026-Q4", tmp_path, "--team", small[0]).read_text(encoding="utf-8"))
    chart = dom.charts["review_frequency"]
    assert chart["svg"] == 1 and chart["pending"]
    assert "every point suppressed (fewer than k people)" in chart["text"]


def test_chart_points_equal_the_table(data_dir: Path, tmp_path: Path) -> None:
    dom = ReportDom(_report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8"))
    table = stored(data_dir / "warehouse.duckdb").filter(pl.col("period_type") == "week")
    checked = 0
    for key in CHARTS:
        data = dom.charts[key]["series"]
        for line in data["series"]:
            rows = table.filter(
                (pl.col("indicator") == line["indicator"])
                & (pl.col("metric") == line["metric"])
                & (pl.col("cut") == line["cut"])
                & (pl.col("cut_value") == line["cut_value"])
            )
            by_week = {r["period"]: r for r in rows.iter_rows(named=True)}
            assert len(line["values"]) == len(data["weeks"])
            for week, shown in zip(data["weeks"], line["values"]):
                row = by_week.get(week)
                expected = None if row is None or row["suppressed"] else row[line["column"]]
                assert shown == expected, (key, line["label"], line["column"], week)  # the very same double
                checked += shown is not None
    assert checked > 150

"""`report` and `export` without --period take the latest complete period with events and say
which; `report --list-periods` lists the periods that exist."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from autoscope.cli import main
from autoscope.pipelines.periods import latest_complete_period


def expected_period(data_dir: Path) -> str:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        period = latest_complete_period(conn)
    finally:
        conn.close()
    assert period is not None
    return period


def test_report_defaults_to_the_latest_complete_period_and_says_so(
    data_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    period = expected_period(
        data_dir
    )  # 2026-Q3 once Q3 2026 is over: the demo's Q4 weeks are in a quarter still running
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--data-dir", str(data_dir)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"period {period}: the latest complete period with events" in out
    assert (tmp_path / f"report-{period}.html").exists()


def test_export_defaults_to_the_latest_complete_period(data_dir: Path, tmp_path: Path, capsys) -> None:
    period = expected_period(data_dir)
    out_dir = tmp_path / "out"
    assert main(["export", "--data-dir", str(data_dir), "--format", "json", "--out", str(out_dir)]) == 0
    assert f"period {period}" in " ".join(capsys.readouterr().out.split())
    assert json.loads((out_dir / "manifest.json").read_text())["period"] == period


def test_list_periods(data_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["report", "--list-periods", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    for label in ("2026-Q3", "2026-Q4", "2026-09", "2026-10", "2026-W36", "2026-W43"):
        assert label in out
    assert "current" in out and max(len(line) for line in out.splitlines()) <= 80

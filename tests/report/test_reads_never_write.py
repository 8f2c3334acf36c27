"""Reads never write: the report, the export and the dashboard read the stored indicators and
never run the indicator job; the commands compose compute-then-read (pipelines/compute_first.py)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from autoscope.pipelines.dashboard import STALE, DashboardData
from autoscope.pipelines.export import ExportRefused, export_period
from autoscope.pipelines.report.build import PeriodUnavailable, write_report

ROOT = Path(__file__).resolve().parents[2]
READERS = [
    *sorted((ROOT / "pipelines" / "report").glob("*.py")),
    ROOT / "pipelines" / "export.py",
    ROOT / "pipelines" / "dashboard.py",
]


def _forget_indicators(data_dir: Path) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        conn.execute("DELETE FROM indicator_values")
        conn.execute("DELETE FROM indicator_periods")
    finally:
        conn.close()


def _stored_rows(data_dir: Path) -> int:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return conn.execute("SELECT count(*) FROM indicator_values").fetchall()[0][0]
    finally:
        conn.close()


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.name)
def test_no_reader_imports_the_indicator_job(path: Path) -> None:
    if path.name == "commands.py":  # the handlers: they compose compute-then-read
        return
    imports = re.findall(r"^\s*(?:from|import)\s+([\w.]+)", path.read_text(), re.MULTILINE)
    assert not [m for m in imports if m.endswith((".jobs", ".compute_first"))], (path.name, imports)


def test_the_report_refuses_what_is_not_stored_and_computes_nothing(data_dir: Path, tmp_path: Path) -> None:
    _forget_indicators(data_dir)
    with pytest.raises(PeriodUnavailable, match="2026-Q3"):
        write_report(data_dir / "warehouse.duckdb", "2026-Q3", tmp_path / "r.html")
    assert _stored_rows(data_dir) == 0
    assert not (tmp_path / "r.html").exists()


def test_the_export_without_a_compute_step_refuses_and_audits(data_dir: Path, tmp_path: Path) -> None:
    _forget_indicators(data_dir)
    with pytest.raises(ExportRefused, match="not all stored"):
        export_period(data_dir, "2026-Q3", "csv", tmp_path / "out")
    assert _stored_rows(data_dir) == 0
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        outcomes = conn.execute("SELECT outcome FROM audit_log").fetchall()
    finally:
        conn.close()
    assert outcomes == [("refused",)]


def test_the_dashboard_without_a_live_computation_shows_the_stored_rows(data_dir: Path) -> None:
    _forget_indicators(data_dir)
    data = DashboardData(data_dir / "warehouse.duckdb")
    data.refresh()
    assert data.snapshot is not None and not data.snapshot.live
    assert data.snapshot.source == STALE
    assert data.snapshot.frame.height == 0
    assert _stored_rows(data_dir) == 0

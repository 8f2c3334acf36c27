"""A period that is not stored yet is computed before it is reported or exported; a period
with no events is refused (and the refused export is audited), never shown or filed empty."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.cli import main
from tests.report.report_reader import stored

KEY = ["indicator", "metric", "period_type", "period", "cut", "cut_value"]


@pytest.fixture
def weeks_only(data_dir: Path) -> Path:
    """The demo's warehouse with weeks stored at k = 7 and no month or quarter (what an earlier
    version's `autoscope indicators --period week` left; the job now always stores all three)."""
    assert main(["indicators", "--data-dir", str(data_dir), "--full", "--k", "7"]) == 0
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    for table in ("indicator_values", "indicator_periods", "time_horizon_replicates"):
        conn.execute(f"DELETE FROM {table} WHERE period_type <> 'week'")
    conn.close()
    assert set(stored(data_dir / "warehouse.duckdb")["period_type"]) == {"week"}
    return data_dir


def _periods(data_dir: Path) -> set[tuple[str, str]]:
    return set(stored(data_dir / "warehouse.duckdb").select(["period_type", "period"]).unique().iter_rows())


def test_report_computes_a_period_type_not_stored_yet(weeks_only: Path, tmp_path: Path, capsys) -> None:
    capsys.readouterr()
    out = tmp_path / "r.html"
    assert main(["report", "--data-dir", str(weeks_only), "--period", "2026-Q3", "--out", str(out)]) == 0
    assert "computed and stored" in capsys.readouterr().out
    assert {("quarter", "2026-Q3"), ("month", "2026-09")} <= _periods(weeks_only)
    table = stored(weeks_only / "warehouse.duckdb")
    assert set(table["k"]) == {7}  # computed with the stored k, not the default 5
    # the page shows the quarter's own numbers, straight from the rows just stored
    text = out.read_text(encoding="utf-8")
    headline = table.filter(
        (pl.col("metric") == "time_weighted_ai_share") & (pl.col("period") == "2026-Q3") & (pl.col("cut") == "lab")
    )
    assert headline.height == 1 and f'data-value="{headline["value"][0]!r}"' in text


def test_report_and_export_refuse_a_period_without_events(data_dir: Path, tmp_path: Path, capsys) -> None:
    before = stored(data_dir / "warehouse.duckdb")
    out = tmp_path / "r.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", "2025-Q1", "--out", str(out)]) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "refused: 2025-Q1 (2025-01-01 to 2025-03-31) has no events" in said
    assert "the warehouse holds events from 2026-" in said
    assert not out.exists()
    filing = tmp_path / "filing"
    assert (
        main(["export", "--data-dir", str(data_dir), "--period", "2025-Q1", "--format", "csv", "--out", str(filing)])
        == 2
    )
    assert "2025-Q1 (2025-01-01 to 2025-03-31) has no events" in " ".join(capsys.readouterr().out.split())
    assert not filing.exists()
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    log = pl.from_arrow(conn.sql("SELECT * FROM audit_log").to_arrow_table())
    conn.close()
    assert log.height == 1 and log["outcome"][0] == "refused" and log["period"][0] == "2025-Q1"
    assert "has no events" in log["detail"][0] and log["files"][0] is None
    # nothing was recomputed for a period that could not have rows
    assert stored(data_dir / "warehouse.duckdb")["computed_at"].max() == before["computed_at"].max()


def test_export_computes_the_months_and_quarter_it_files(weeks_only: Path, tmp_path: Path) -> None:
    filing = tmp_path / "filing"
    assert (
        main(["export", "--data-dir", str(weeks_only), "--period", "2026-Q3", "--format", "json", "--out", str(filing)])
        == 0
    )
    manifest = json.loads((filing / "manifest.json").read_text())
    rows = pl.DataFrame(
        [r for f in manifest["files"] for r in json.loads((filing / f["path"]).read_text())], infer_schema_length=None
    )
    assert {("quarter", "2026-Q3"), ("month", "2026-09"), ("week", "2026-W39")} <= set(
        rows.select(["period_type", "period"]).unique().iter_rows()
    )
    assert manifest["privacy"]["k"] == 7
    table = stored(weeks_only / "warehouse.duckdb")
    assert (
        rows.height
        == table.filter(
            (pl.col("period") == "2026-Q3")
            | pl.col("period").is_in(["2026-07", "2026-08", "2026-09"])
            | pl.col("period").is_in(manifest["periods_included"]["week"])
        ).height
    )

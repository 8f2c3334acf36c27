"""Reproducible releases from the DuckLake warehouse: an export reads one lake snapshot, its
manifest records it, and an export at that snapshot later gives the same files however many
events and indicator runs came after; the indicator job re-run at the snapshot agrees."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from autoscope.pipelines.compute_first import ensure_stored
from autoscope.pipelines.export import ExportError, export_period
from autoscope.pipelines.jobs import compute_indicators
from autoscope.warehouse.lake import LakeLocation, connect_lake
from autoscope.warehouse.schema import migrate
from tests.pipelines.warehouse_rows import add_task

pytestmark = pytest.mark.integration
WEEK = "2026-W37"


def _add_week(lake: LakeLocation, executor: str, actors: range) -> None:
    conn = connect_lake(lake)
    try:
        migrate(conn)
        for n in actors:
            add_task(conn, actor=f"a{n}", executor=executor, team="t1")
    finally:
        conn.close()


def _ai_share(frame: pl.DataFrame) -> float:
    """The lab-wide AI share of tasks in WEEK (automation_share)."""
    cell = frame.filter(
        (pl.col("indicator") == "automation_share")
        & (pl.col("metric") == "ai_share")
        & (pl.col("period_type") == "week")
        & (pl.col("period") == WEEK)
        & (pl.col("cut") == "lab")
    )
    assert cell.height == 1, cell
    return float(cell["value"][0])


def _files(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {entry["path"]: entry["sha256"] for entry in manifest["files"]}


def test_a_release_is_re_derived_from_its_recorded_snapshot(lake_location: LakeLocation, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _add_week(lake_location, "ai", range(6))
    first = export_period(data_dir, WEEK, "csv", tmp_path / "first", lake=lake_location, compute_first=ensure_stored)
    recorded = first.manifest["warehouse"]
    assert recorded["backend"] == "ducklake" and isinstance(recorded["snapshot"], int)
    assert recorded["rederive"] == f"autoscope export --period {WEEK} --snapshot {recorded['snapshot']}"

    # more events in the same week, and the indicators computed again: the newest release differs
    _add_week(lake_location, "human", range(6, 12))
    later = export_period(
        data_dir,
        WEEK,
        "csv",
        tmp_path / "later",
        lake=lake_location,
        compute_first=lambda c, p, t, k=None: ensure_stored(c, p, t, k=k, refresh=True),
    )
    assert later.manifest["warehouse"]["snapshot"] > recorded["snapshot"]
    assert _files(tmp_path / "later") != _files(tmp_path / "first")

    again = export_period(data_dir, WEEK, "csv", tmp_path / "again", lake=lake_location, snapshot=recorded["snapshot"])
    assert again.manifest["warehouse"]["snapshot"] == recorded["snapshot"]
    assert _files(tmp_path / "again") == _files(tmp_path / "first")
    released = pl.read_csv(tmp_path / "first" / "automation_share.csv")
    assert _ai_share(released) == 1.0  # six AI tasks, no others, at the recorded snapshot

    # an auditor recomputes from the events as they were at the snapshot, not as they are now
    at_release = connect_lake(lake_location, snapshot=recorded["snapshot"])
    try:
        assert _ai_share(compute_indicators(at_release)) == _ai_share(released)
    finally:
        at_release.close()
    now = connect_lake(lake_location)
    try:
        assert _ai_share(compute_indicators(now)) == 0.5
    finally:
        now.close()


def test_a_snapshot_without_a_lake_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="--snapshot reads a lake snapshot"):
        export_period(tmp_path, WEEK, "csv", tmp_path / "out", snapshot=3)


def test_the_cli_refuses_a_snapshot_without_the_lake_backend(tmp_path: Path, monkeypatch, capsys) -> None:
    from autoscope.cli import main

    for key in ("BACKEND", "CATALOG", "DATA_PATH"):
        monkeypatch.delenv(f"AUTOSCOPE_WAREHOUSE_{key}", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./autoscope.toml
    argv = ["export", "--data-dir", str(tmp_path), "--period", WEEK, "--format", "csv", "--out", str(tmp_path / "o")]
    assert main([*argv, "--snapshot", "3"]) == 2
    assert 'it needs [warehouse] backend = "ducklake"' in capsys.readouterr().err


def test_the_cli_computes_exports_and_re_derives_from_the_configured_lake(
    lake_location: LakeLocation, tmp_path: Path, monkeypatch, capsys
) -> None:
    from autoscope.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOSCOPE_WAREHOUSE_BACKEND", "ducklake")
    monkeypatch.setenv("AUTOSCOPE_WAREHOUSE_CATALOG", lake_location.catalog)
    monkeypatch.setenv("AUTOSCOPE_WAREHOUSE_DATA_PATH", lake_location.data_path)
    _add_week(lake_location, "ai", range(6))
    data = ["--data-dir", str(tmp_path / "data")]
    (tmp_path / "data").mkdir()
    assert main(["indicators", *data]) == 0
    assert "snapshot" in capsys.readouterr().out
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # the lake, not the file
    export = ["export", *data, "--period", WEEK, "--format", "csv"]
    assert main([*export, "--out", str(tmp_path / "first")]) == 0
    snapshot = json.loads((tmp_path / "first" / "manifest.json").read_text())["warehouse"]["snapshot"]
    _add_week(lake_location, "human", range(6, 12))
    assert main(["indicators", *data, "--full"]) == 0
    assert main([*export, "--out", str(tmp_path / "again"), "--snapshot", str(snapshot)]) == 0
    assert _files(tmp_path / "again") == _files(tmp_path / "first")

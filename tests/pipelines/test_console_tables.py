"""The terminal table: suppressed cells read "suppressed", released ones show their actors."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from rich.console import Console

from autoscope.pipelines.console_tables import full_tables
from autoscope.pipelines.jobs import compute_indicators
from tests.pipelines.warehouse_rows import add_task, warehouse


def test_suppressed_cells_are_named_and_actors_shown(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    at = dt.datetime(2026, 2, 10, 9)
    for i in range(4):
        add_task(conn, actor=f"s{i}", team="small", at=at)
    for i in range(6):
        add_task(conn, actor=f"m{i}", team="mid", at=at)
    for i in range(8):
        add_task(conn, actor=f"l{i}", team="large", at=at, executor="human")
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(full_tables(compute_indicators(conn)))
    lines: dict[str, str] = {}  # label → its row in the automation share table
    text = out.getvalue()
    for line in text[text.index("automation_share (per week)") :].splitlines():
        if line.count("│") > 3:
            lines.setdefault(line.split("│")[2].strip(), line)
    assert set(lines) >= {"lab (all teams)", "team: small", "team: mid", "team: large"}
    for team in ("team: small", "team: mid"):  # mid: the complement that keeps small hidden
        cells = [c.strip() for c in lines[team].split("│")[3:-1]]
        assert cells and all(c == "suppressed" for c in cells), lines[team]
    large = [c.strip() for c in lines["team: large"].split("│")[3:-1]]
    assert large[0] == "8" and large[1] == "0.0%", large
    assert lines["lab (all teams)"].split("│")[3].strip() == "18"
    assert "2026-W07" in out.getvalue()

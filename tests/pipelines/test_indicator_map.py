"""docs/indicators.md opens with a map of every indicator: each registry entry has its row."""

from __future__ import annotations

import re
from pathlib import Path

from autoscope.pipelines.indicators.registry import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


def _map_rows() -> dict[str, list[str]]:
    """The map's first column (the indicator's name in backticks) → the row's other cells."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Map\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"(?:cut )?`([a-z_]+)`", cells[0]) if line.startswith("|") else None
        if found:
            rows[found.group(1)] = cells[1:]
    return rows


def test_every_registry_indicator_is_in_the_map() -> None:
    rows = _map_rows()
    missing = [i.key for i in REGISTRY if not ({i.key, *i.names} & set(rows))]
    assert not missing, f"docs/indicators.md, Map: no row for {missing}"


def test_every_map_row_says_what_it_answers_and_cannot_tell() -> None:
    rows = _map_rows()
    assert "team_class" in rows  # the class cut has its row too
    for name, cells in rows.items():
        assert len(cells) == 4 and all(cells), f"{name}: definition, method, answers, cannot tell"
    cset = [name for name, cells in rows.items() if "CSET Table 1" in cells[2]]
    assert len(cset) >= 12  # the twelve rows of Table 1

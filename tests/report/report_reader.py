"""Reading the rendered report back: traceable cells and charts, with the stdlib HTML parser."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl

#: the charts the issue asks for, by the key the page gives them
CHARTS = (
    "automation_share",
    "ladder",
    "time_horizon",
    "review_frequency",
    "experiment_compute",
    "first_authorship",
    "merged_code",
    "ai_review",
    "spend_distribution",
    "escaped_errors",
    "agent_permissions",
    "time_allocation",
    "capital_share",
    "team_class",  # the demo configures team classes: AI share per class
)


class ReportDom(HTMLParser):
    """Collects the report's charts (with their SVG drawing elements) and traceable cells."""

    DRAWING = {"path", "line", "polyline", "rect", "circle", "use"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.charts: dict[str, dict] = {}
        self.cells: list[dict] = []
        self._figure: str | None = None
        self._depth = 0
        self._cell: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "data-chart" in a:
            self._figure = a["data-chart"]
            self._depth = 1
            self.charts[self._figure] = {
                "pending": "pending" in a.get("class", ""),
                "svg": 0,
                "drawing": 0,
                "text": "",
                "series": json.loads(a["data-series"]) if "data-series" in a else None,
            }
        elif self._figure:
            if tag == "figure":
                self._depth += 1
            if tag == "svg":
                self.charts[self._figure]["svg"] += 1
            if tag in self.DRAWING:
                self.charts[self._figure]["drawing"] += 1
        if "data-metric" in a and "data-indicator" in a:
            self._cell = {**a, "text": ""}
            self.cells.append(self._cell)

    def handle_endtag(self, tag):
        if self._figure and tag == "figure":
            self._depth -= 1
            if self._depth == 0:
                self._figure = None
        if tag in ("td", "div", "span") and self._cell is not None and tag != "span":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._figure:
            self.charts[self._figure]["text"] += data


def stored(warehouse: Path) -> pl.DataFrame:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return pl.from_arrow(conn.sql("SELECT * FROM indicator_values").to_arrow_table())
    finally:
        conn.close()

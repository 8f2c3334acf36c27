"""The chart module alone: tick labels for any year, and charts with nothing to draw."""

from __future__ import annotations

from autoscope.pipelines.report.charts import tick_labels


def test_tick_labels_name_the_year_wherever_it_changes() -> None:
    assert tick_labels(["2025-W40", "2025-W41"]) == ["W40\n2025", "W41"]  # not only 2026
    assert tick_labels(["2026-W52", "2026-W53", "2027-W01", "2027-W02"]) == ["W52\n2026", "W53", "W01\n2027", "W02"]

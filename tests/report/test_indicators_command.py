"""`autoscope indicators` prints a short headline by default, every cut with --all; the headline
fits 80 columns on the demo's data with no header cut."""

from __future__ import annotations

from pathlib import Path

from autoscope.cli import main


def test_headline_by_default_fits_80_columns(data_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["indicators", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out  # no header or cell cut
    assert "Lab-wide, per week" in out and "AI share of tasks by team, per week" in out
    for team in ("evals", "infrastructure", "policy", "post-training", "pretraining"):
        assert team in out
    assert "automation_share (per week)" not in out  # the full tables only with --all
    assert len(lines) < 60


def test_all_prints_every_indicator_and_cut(data_dir: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["indicators", "--all", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    for title in (
        "automation_share (per week)",
        "automation_share (per month)",
        "automation_share (per quarter)",
        "review_frequency (per week)",
    ):
        assert title in out
    assert "team: infrastructure" in out and "lab (all teams)" in out
    capsys.readouterr()
    assert main(["indicators", "--cut", "team", "--period", "quarter", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "automation_share (per quarter)" in out and "(per week)" not in out

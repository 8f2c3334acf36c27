"""Report, export and audit work while `autoscope up` runs: they take turns with its ingester
(autoscope.warehouse.turns) instead of failing on DuckDB's one-process lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from autoscope.cli import main
from autoscope.pipelines.export import verify


def test_report_and_export_while_the_ingester_holds_the_warehouse(data_dir: Path, tmp_path: Path, capsys) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "autoscope.cli", "up", "--data-dir", str(data_dir), "--port", "0", "--grpc-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C to stop" not in seen:
            line = up.stdout.readline()
            assert line or up.poll() is None, seen
            seen += line
            assert time.monotonic() < deadline, seen
        assert (
            main(["report", "--data-dir", str(data_dir), "--period", "2026-Q4", "--out", str(tmp_path / "r.html")]) == 0
        )
        assert (tmp_path / "r.html").stat().st_size > 50_000
        assert (
            main(
                [
                    "export",
                    "--data-dir",
                    str(data_dir),
                    "--period",
                    "2026-Q4",
                    "--format",
                    "csv",
                    "--out",
                    str(tmp_path / "filing"),
                ]
            )
            == 0
        )
        assert verify(tmp_path / "filing") == []
        capsys.readouterr()
        assert main(["audit", "--data-dir", str(data_dir), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["outcome"] == "ok"
        assert up.poll() is None  # the ingester is still running, it only lent the file
    finally:
        up.terminate()
        up.wait(timeout=30)

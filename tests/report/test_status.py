"""`autoscope status` on the demo's data: on the data directory alone, while the service runs on
it, and against a collector asked over HTTP with a read token."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from autoscope.cli import main
from autoscope.pipelines.periods import is_complete
from autoscope.warehouse.columns import TABLE_BY_TYPE
from autoscope.warehouse.reader import event_counts


def status_json(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["status", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_status_answers_on_the_demos_data_dir_alone(data_dir: Path, capsys) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    by_type = {t: n for t, n in event_counts(conn).items() if n}
    teams = dict(
        conn.execute(
            # every event table, those of types added later too (the demo sends them)
            "SELECT team, count(*) FROM ("
            + " UNION ALL ".join(f"SELECT team FROM {table}" for table in TABLE_BY_TYPE.values())
            + ") GROUP BY team"
        ).fetchall()
    )
    total = conn.execute("SELECT count(*) FROM event_ids").fetchall()[0][0]
    conn.close()

    code, status = status_json(capsys, "--data-dir", str(data_dir))
    assert code == 0
    assert status["collector"]["available"] is False  # nothing runs on this copy
    warehouse = status["warehouse"]
    assert warehouse["available"]
    assert {row["name"]: row["total"] for row in warehouse["by_type"]} == by_type
    assert {row["name"]: row["total"] for row in warehouse["by_team"]} == teams
    assert [(row["name"], row["total"]) for row in warehouse["by_tool"]] == [("autoscope-demo 0.1.0", total)]
    assert sum(row["total"] for row in warehouse["arrivals"]) == total
    # the demo ingested everything moments ago: the last hour holds it all, and it was seen
    assert sum(row["last_hour"] for row in warehouse["arrivals"]) == total
    assert all(row["last_ingested"] for row in warehouse["arrivals"])
    assert warehouse["rows"]["event_ids"] == total and warehouse["rows"]["indicator_values"] > 0
    periods = {(p["period_type"], p["period"]): p for p in warehouse["periods"]}
    assert {("quarter", "2026-Q3"), ("quarter", "2026-Q4"), ("week", "2026-W36"), ("week", "2026-W43")} <= set(periods)
    for (_, label), period in periods.items():
        assert period["complete"] == is_complete(label)
        assert period["indicators"] == "current", period  # the demo computed them after the last event
    assert sum(p["events"] for p in warehouse["periods"] if p["period_type"] == "quarter") == total
    assert status["quarantine"]["entries"] == 0 and status["spool"]["segments"] == 0


def test_indicators_are_stale_once_newer_events_arrive(data_dir: Path, capsys) -> None:
    from tests.pipelines.warehouse_rows import add_task

    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    add_task(conn, actor="late", team="evals", at=dt.datetime(2026, 10, 14, 9))  # 2026-W42, 2026-10, 2026-Q4
    conn.close()
    _, status = status_json(capsys, "--data-dir", str(data_dir))
    state = {p["period"]: p for p in status["warehouse"]["periods"]}
    for label in ("2026-Q4", "2026-10", "2026-W42"):
        assert state[label]["indicators"] == "stale: 1 newer events" and state[label]["events_since_computed"] == 1
    assert state["2026-Q3"]["indicators"] == "current"


def test_status_tables_fit_80_columns(data_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out.replace("… ", "")  # no cut cell; "… N more rows" is the only ellipsis
    for words in (
        "by source tool and version",
        "autoscope-demo 0.1.0",
        "by event type",
        "by team",
        "infrastructure",
        "2026-Q3",
        "current",
        "warehouse rows",
    ):
        assert words in out, words


def test_status_while_the_service_runs_and_from_a_remote_collector(data_dir: Path, kafka, capsys, monkeypatch) -> None:
    from autoscope.core.tokens import TokenStore
    from autoscope.service import Service, ServiceSettings

    settings = ServiceSettings(data_dir=data_dir, port=0, grpc_port=None, kafka=kafka)
    with Service(settings).start() as service:
        url = service.endpoint
        # a rejected event (quarantined) and OTLP telemetry that maps to no event
        bad = httpx.post(url + "/v1/events", json=[{"type": "task", "mood": "great"}], timeout=10)
        assert bad.status_code == 400
        log = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hello"}}]}]}]}
        assert httpx.post(url + "/v1/logs", json=log, timeout=10).status_code == 200

        # (a) the data directory while `up` runs: warehouse read in a turn, collector found by its run file
        code, status = status_json(capsys, "--data-dir", str(data_dir))
        assert code == 0
        collector = status["collector"]
        assert collector["available"] and collector["url"] == url
        assert sum(collector["rejected_by_field"].values()) >= 1
        assert sum(collector["otlp"]["otlp_unmapped"].values()) == 1
        assert {"bytes", "segments"} <= set(collector["spool"])
        assert "measured" in collector["ingester_lag"]  # measured every 10 s: maybe not yet
        assert status["quarantine"]["entries"] >= 1 and status["quarantine"]["top_reasons"]
        assert status["warehouse"]["available"] and status["warehouse"]["rows"]["event_ids"] > 0

        # (b) a remote collector: no token once tokens exist → refused, and status says which token to give
        read_token, _ = TokenStore(data_dir / "tokens.json").create("ops", ["read"], None)
        ingest_token, _ = TokenStore(data_dir / "tokens.json").create("tool", ["ingest"], None)
        code, status = status_json(capsys, "--collector-url", url)
        assert code == 1 and "401" in status["collector"]["reason"] and "read scope" in status["collector"]["reason"]
        code, status = status_json(capsys, "--collector-url", url, "--token", ingest_token)
        assert code == 1 and "403" in status["collector"]["reason"]
        code, status = status_json(capsys, "--collector-url", url, "--token", read_token)
        assert code == 0 and status["collector"]["available"]
        assert status["collector"]["quarantine"]["entries"] >= 1
        assert "warehouse" not in status  # a remote collector's warehouse is not ours to read

        monkeypatch.setenv("COLUMNS", "80")
        capsys.readouterr()
        assert main(["status", "--collector-url", url, "--token", read_token]) == 0
        out = capsys.readouterr().out
        assert "collector at " + url in out and "quarantine:" in out and "maps to no event" in out
        assert max(len(line) for line in out.splitlines()) <= 80
    assert not (data_dir / "collector.json").exists()  # the run file goes with the collector


@pytest.mark.parametrize("argv", [["--collector-url", "http://127.0.0.1:9"]])
def test_an_unreachable_remote_collector_is_exit_1_with_the_reason(argv: list[str], capsys) -> None:
    code, status = status_json(capsys, *argv)
    assert code == 1 and "not reachable" in status["collector"]["reason"]


def test_status_while_autoscope_up_runs_in_another_process(data_dir: Path, capsys) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "autoscope.cli", "up", "--data-dir", str(data_dir), "--port", "0", "--grpc-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        seen, deadline = "", time.monotonic() + 60
        while "Ctrl-C to stop" not in seen:
            line = up.stdout.readline()
            assert line or up.poll() is None, seen
            seen += line
            assert time.monotonic() < deadline, seen
        code, status = status_json(capsys, "--data-dir", str(data_dir))
        assert code == 0
        assert status["collector"]["available"], status["collector"]  # found through <data-dir>/collector.json
        assert status["warehouse"]["available"], status["warehouse"]  # the ingester lent the file for a turn
        assert status["warehouse"]["rows"]["event_ids"] > 0
        assert up.poll() is None
    finally:
        up.terminate()
        up.wait(timeout=30)
    assert not (data_dir / "collector.json").exists()

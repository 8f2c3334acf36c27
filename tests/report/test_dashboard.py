"""The dashboard over HTTP: a real uvicorn process, drawn in headless Chromium, read-only, token-gated,
and following new events."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from autoscope.tokens import TokenStore
from autoscope.warehouse.turns import turn
from tests.report import browser
from tests.report.helpers import ReportDom


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dashboard(data_dir: Path):
    """``autoscope dashboard`` in its own process (as in production), with a read token."""
    token, _ = TokenStore(data_dir / "tokens.json").create("leadership", ["read"])
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "autoscope.cli", "dashboard", "--data-dir", str(data_dir), "--port", str(port),
         "--refresh", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.1)
    try:
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_dashboard_draws_in_chromium(dashboard) -> None:
    url, token = dashboard
    page = f"{url}?period=2026-Q4&token={token}"
    dom = ReportDom(browser.dump_dom(page))
    drawn = [k for k, c in dom.charts.items() if not c["pending"]]
    assert {"automation_share", "review_frequency", "experiment_compute"} <= set(drawn)
    assert all(dom.charts[k]["svg"] == 1 and dom.charts[k]["drawing"] > 20 for k in drawn)
    suppressed = [c for c in dom.cells if c.get("data-suppressed") == "true"]
    assert suppressed and all(c["text"].strip() == "suppressed" for c in suppressed)
    browser.screenshot(page, "dashboard-2026-Q4.png")


def test_dashboard_needs_a_read_token_and_is_read_only(dashboard, data_dir: Path) -> None:
    url, token = dashboard
    assert httpx.get(url).status_code == 401
    assert httpx.get(url + "api/version").status_code == 401
    _, other = TokenStore(data_dir / "tokens.json").create("compliance", ["export"])
    assert httpx.get(url, headers={"authorization": f"Bearer {other}"}).status_code == 401
    bearer = {"authorization": f"Bearer {token}"}
    answer = httpx.get(url, params={"period": "2026-Q3", "team": "evals"}, headers=bearer)
    assert answer.status_code == 200 and "team evals" in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert httpx.post(url, headers=bearer).status_code == 405
    # the token in a link becomes a cookie and leaves the address
    first = httpx.get(url, params={"token": token, "period": "2026-Q3"})
    assert first.status_code == 303 and first.headers["location"] == "/?period=2026-Q3"
    assert "autoscope_token" in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]


def test_dashboard_follows_new_events(dashboard, data_dir: Path) -> None:
    url, token = dashboard
    bearer = {"authorization": f"Bearer {token}"}
    before = httpx.get(url + "api/version", headers=bearer).json()
    # events arrive: new tasks land in the warehouse (as the ingester would write them)
    at = dt.datetime(2026, 10, 28, 12)  # 2026-W44
    with turn(data_dir / "warehouse.duckdb", timeout_s=30):  # as the ingester does: in turn
        conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
        try:
            for i in range(12):
                conn.execute("INSERT INTO event_ids VALUES (?, 'task', ?, 't', 0, ?)", [f"new-{i}", at, 10_000 + i])
                conn.execute(
                    "INSERT INTO tasks (event_id, occurred_at, actor, team, tool, tool_version, task_id, family,"
                    " executor, autonomy, category, role, rung, human_minutes, duration_s, outcome) VALUES"
                    " (?, ?, ?, 'evals', 'tool', '1', ?, 'analysis', 'ai', 'autonomous', 'analysis', 'engineer',"
                    " 'engineering', 30, 60, 'success')",
                    [f"new-{i}", at, f"newcomer-{i % 6}", f"new-task-{i}"])
        finally:
            conn.close()
    deadline = time.monotonic() + 30
    while True:
        now = httpx.get(url + "api/version", headers=bearer).json()
        if now["version"] != before["version"]:
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.2)
    assert now["events"] == before["events"] + 12
    page = httpx.get(url, params={"period": "2026-W44"}, headers=bearer).text
    assert "2026-W44" in page and f"{now['events']:,} events" in page

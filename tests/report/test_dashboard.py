"""The dashboard over HTTP: a real uvicorn process, drawn in headless Chromium, read-only, token-gated,
and following new events."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest

from autoscope.core.tokens import TokenStore
from autoscope.warehouse.turns import turn
from tests.report import browser
from tests.report.report_reader import CHARTS, ReportDom, stored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(data_dir: Path) -> Iterator[tuple[str, str]]:
    """``autoscope dashboard`` in its own process (as in production), with a read token."""
    token, _ = TokenStore(data_dir / "tokens.json").create("leadership", ["read"])
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoscope.cli",
            "dashboard",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--refresh",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
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


@pytest.fixture
def dashboard(data_dir: Path):
    with serve(data_dir) as served:
        yield served


def _new_tasks(data_dir: Path, n: int = 12, ingested_at: dt.datetime | None = None) -> None:
    """New AI tasks land in the warehouse in 2026-W44, as the ingester would write them (in turn)."""
    at = dt.datetime(2026, 10, 28, 12)
    with turn(data_dir / "warehouse.duckdb", timeout_s=30):
        conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
        try:
            for i in range(n):
                conn.execute(
                    "INSERT INTO event_ids VALUES (?, 'task', ?, 't', 0, ?)",
                    [f"new-{i}", ingested_at or at, 10_000 + i],
                )
                conn.execute(
                    "INSERT INTO tasks (event_id, occurred_at, actor, team, tool, tool_version, task_id, family,"
                    " executor, autonomy, category, role, rung, human_minutes, duration_s, outcome) VALUES"
                    " (?, ?, ?, 'evals', 'tool', '1', ?, 'analysis', 'ai', 'autonomous', 'analysis', 'engineer',"
                    " 'engineering', 30, 60, 'success')",
                    [f"new-{i}", at, f"newcomer-{i % 6}", f"new-task-{i}"],
                )
        finally:
            conn.close()


def _next_version(url: str, bearer: dict, before: dict) -> dict:
    deadline = time.monotonic() + 30
    while True:
        now = httpx.get(url + "api/version", headers=bearer).json()
        if now["version"] != before["version"]:
            return now
        assert time.monotonic() < deadline, now
        time.sleep(0.2)


def test_dashboard_draws_in_chromium(dashboard) -> None:
    url, token = dashboard
    page = f"{url}?period=2026-Q4&token={token}"
    dom = ReportDom(browser.dump_dom(page))
    assert set(dom.charts) == set(CHARTS)
    for key in CHARTS:  # every chart drew, with its data
        chart = dom.charts[key]
        assert not chart["pending"] and chart["svg"] == 1 and chart["drawing"] > 20, (key, chart)
    suppressed = [c for c in dom.cells if c.get("data-suppressed") == "true"]
    assert suppressed and all(c["text"].strip().startswith("suppressed (") for c in suppressed)
    reasons = {c["data-suppression-reason"] for c in suppressed}
    assert {"too_few_people", "protects_cut"} <= reasons  # the dashboard says why, as the report does
    browser.screenshot(page, "dashboard-2026-Q4.png")


def test_dashboard_needs_a_read_token_and_is_read_only(dashboard, data_dir: Path) -> None:
    # a page renders its charts (about a second of CPU each): on a loaded machine that takes
    # longer than httpx's default 5 s, so page requests wait as the other tests here do
    url, token = dashboard
    assert httpx.get(url).status_code == 401
    assert httpx.get(url + "api/version").status_code == 401
    _, other = TokenStore(data_dir / "tokens.json").create("compliance", ["export"])
    assert httpx.get(url, headers={"authorization": f"Bearer {other}"}).status_code == 401
    bearer = {"authorization": f"Bearer {token}"}
    answer = httpx.get(url, params={"period": "2026-Q3", "team": "evals"}, headers=bearer, timeout=60)
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
    _new_tasks(data_dir)
    now = _next_version(url, bearer, before)
    assert now["events"] == before["events"] + 12
    page = httpx.get(url, params={"period": "2026-W44"}, headers=bearer, timeout=60).text
    assert "2026-W44" in page and f"{now['events']:,} events" in page


def _cells(page: str, **where: str) -> list[dict]:
    return [
        c for c in ReportDom(page).cells if all(c.get(f"data-{k.replace('_', '-')}") == v for k, v in where.items())
    ]


def test_dashboard_keeps_the_k_of_the_stored_release(data_dir: Path) -> None:
    from autoscope.pipelines.jobs import run

    at_5 = stored(data_dir / "warehouse.duckdb")
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    run(conn, k=7)  # released with k = 7 (the dashboard's own default would be 5)
    conn.close()
    at_7 = stored(data_dir / "warehouse.duckdb")
    key = ["indicator", "metric", "period_type", "period", "cut", "cut_value"]
    # cells of 2026-09 that k = 7 suppresses and k = 5 would release (the new events are in Q4)
    newly = at_7.filter(pl.col("suppressed") & (pl.col("period") == "2026-09")).join(
        at_5.filter(~pl.col("suppressed")), on=key, how="semi"
    )
    assert newly.height
    with serve(data_dir) as (url, token):
        bearer = {"authorization": f"Bearer {token}"}
        before = httpx.get(url + "api/version", headers=bearer).json()
        _new_tasks(data_dir, ingested_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))  # after the run
        _next_version(url, bearer, before)
        page = httpx.get(url, params={"period": "2026-09"}, headers=bearer, timeout=60).text
    assert "live: computed from the events in memory" in page and "k = 7" in page
    checked = 0
    for row in newly.iter_rows(named=True):
        cells = _cells(
            page,
            indicator=row["indicator"],
            metric=row["metric"],
            period="2026-09",
            cut=row["cut"],
            cut_value=row["cut_value"],
        )
        for cell in cells:
            assert cell.get("data-suppressed") == "true" and cell["text"].strip().startswith("suppressed ("), cell
            checked += 1
    assert checked


def test_dashboard_never_recomputes_a_release_under_differential_privacy(data_dir: Path) -> None:
    from autoscope.pipelines.jobs import run

    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    run(conn, epsilon=1.0, budget=100)
    conn.close()
    table = stored(data_dir / "warehouse.duckdb")
    with serve(data_dir) as (url, token):
        bearer = {"authorization": f"Bearer {token}"}
        before = httpx.get(url + "api/version", headers=bearer).json()
        _new_tasks(data_dir, ingested_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
        _next_version(url, bearer, before)
        page = httpx.get(url, params={"period": "2026-Q4"}, headers=bearer, timeout=60).text
    assert "released under differential privacy: they may be stale" in " ".join(page.split())
    assert "live: computed" not in page
    # the noisy stored numbers, not numbers recomputed without noise
    shown = _cells(page, indicator="automation_share", metric="time_weighted_ai_share", period="2026-Q4", cut="lab")
    expected = table.filter(
        (pl.col("indicator") == "automation_share")
        & (pl.col("metric") == "time_weighted_ai_share")
        & (pl.col("period") == "2026-Q4")
        & (pl.col("cut") == "lab")
    )["value"][0]
    assert shown and all(float(c["data-value"]) == expected for c in shown)
    assert _cells(page, indicator="review_frequency", period="2026-Q4", cut="lab", withheld="true")


def test_health_and_version_answer_while_a_page_renders(dashboard) -> None:
    import threading

    url, token = dashboard
    bearer = {"authorization": f"Bearer {token}"}

    def render(team: str) -> None:  # pages not rendered yet: their charts take most of a second each
        httpx.get(url, params={"period": "2026-Q3", "team": team}, headers=bearer, timeout=120)

    workers = [threading.Thread(target=render, args=(team,)) for team in ("infrastructure", "pretraining", "evals")]
    for worker in workers:
        worker.start()
    time.sleep(0.3)  # the renders have begun (one at a time, a couple of seconds in all)
    answered_during_render = 0
    for _ in range(3):
        assert httpx.get(url + "healthz", timeout=60).status_code == 200
        assert httpx.get(url + "api/version", headers=bearer, timeout=60).status_code == 200
        answered_during_render += any(worker.is_alive() for worker in workers)
    for worker in workers:
        worker.join(timeout=120)
    # rendering on the event loop would hold these answers until every page was done
    assert answered_during_render >= 2


def test_dashboard_month_view_and_team_typo(dashboard) -> None:
    """A month whose only events fall in a week ISO gives to the next month still charts them;
    a team that does not exist is refused with the list of teams, not shown as an empty team."""
    url, token = dashboard
    bearer = {"Authorization": f"Bearer {token}"}
    page = httpx.get(url, params={"period": "2026-08"}, headers=bearer, timeout=60).text
    dom = ReportDom(page)
    assert "no week with data" not in page
    assert not dom.charts["automation_share"]["pending"] and dom.charts["automation_share"]["series"]["weeks"]
    typo = httpx.get(url, params={"period": "2026-Q4", "team": "evalz"}, headers=bearer, timeout=60)
    assert typo.status_code == 400 and "no such team" in typo.text
    assert "evals, infrastructure, policy, post-training, pretraining" in typo.text

"""``autoscope dashboard``: the automation report, served live on localhost (read-only).

A Starlette app on uvicorn. ``GET /`` is the report page of :mod:`autoscope.pipelines.report`
with a period and team selector (``?period=2026-Q3&team=evals``); the page polls
``GET /api/version`` and reloads itself when the data changed, so it follows events as they
arrive. Only GET routes exist: nothing on the dashboard can change the warehouse.

Data: a background thread looks at the warehouse file every ``refresh_s`` seconds; when it
changed (its size or time, or its WAL's), it opens it read-only for a moment with
:func:`autoscope.pipelines.report.build.open_warehouse` (taking a turn with a running
ingester, as the report and the export do), and reads. It shows the stored
``indicator_values``; when the warehouse holds events ingested after the job's last run (or
not every period type is stored), it computes the indicators in memory with the function the
``autoscope dashboard`` command hands it (the job's read-only ``compute_indicators``; this module
never imports the job, and without one it shows the stored rows and says they may be stale) —
with the k of the stored release (``--k`` may only raise it), so a cell suppressed in the
release stays suppressed here — and says so on the page ("live: not yet stored"). When the
stored release used differential privacy it never does: a live computation would release
numbers without noise (or spend epsilon outside the ledger), so the page shows the stored rows
and says they may be stale. If the file cannot be had (a process that does not take turns
holds it, or the hand-over times out), the page keeps the last data read and says so.

Access: when any token exists in the data directory, every page but ``/healthz`` needs a token
with the ``read`` scope — ``Authorization: Bearer …``, or ``?token=…`` once in a browser, which
sets an HttpOnly cookie and redirects to the same page without the token in the address. With
no token configured, the dashboard serves loopback only (a single local operator) and refuses
to listen elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import duckdb
import polars as pl

from autoscope.core.http_server import HttpServer
from autoscope.pipelines.periods import PERIOD_TYPES
from autoscope.pipelines.report.data import PeriodError, available_periods, load_values, parse_period
from autoscope.pipelines.report.html import Report
from autoscope.pipelines.report.stored import Release, period_epsilons, stored_release

log = logging.getLogger(__name__)
COOKIE = "autoscope_token"
DEFAULT_PORT = 8788
e = html.escape


@dataclasses.dataclass
class Snapshot:
    frame: pl.DataFrame
    version: str
    read_at: dt.datetime
    live: bool  # computed in memory, not (yet) stored
    events: int
    source: str  # where the numbers come from, in words, for the page
    epsilons: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)


STORED = "stored indicators"
LIVE = "live: computed from the events in memory, not yet stored by the indicator job"
STALE = (
    "stored indicators: they may be stale (events arrived since they were computed); "
    "`autoscope indicators` stores the new ones"
)
STALE_DP = (
    "stored indicators, released under differential privacy: they may be stale (events arrived "
    "since they were computed), and the dashboard never recomputes them without the release's "
    "noise — run `autoscope indicators --epsilon …` to release the new events"
)


class ComputeLive(Protocol):
    """Every indicator in memory, anonymized, nothing stored
    (:func:`autoscope.pipelines.jobs.compute_indicators`)."""

    def __call__(
        self, conn: duckdb.DuckDBPyConnection, *, k: int | None, period_types: Sequence[str]
    ) -> pl.DataFrame: ...


class DashboardData:
    """The newest readable data of one warehouse file, refreshed by a background thread."""

    def __init__(
        self, warehouse: Path, refresh_s: float = 5.0, k: int | None = None, compute_live: ComputeLive | None = None
    ) -> None:
        self.warehouse = Path(warehouse)
        self.compute_live = compute_live
        self.refresh_s = refresh_s
        self.k = k
        self.snapshot: Snapshot | None = None
        self.status = "starting"
        self._marker: tuple | None = None
        self._file_signature: tuple | None = None
        self.turn_timeout_s = 10.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoscope-dashboard-refresh", daemon=True)

    def start(self) -> DashboardData:
        self.refresh()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.refresh()

    def _signature(self) -> tuple:
        """Changes whenever a commit reaches the file (its size and time, and its WAL's)."""
        out = []
        for path in (self.warehouse, Path(f"{self.warehouse}.wal")):
            try:
                st = path.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def refresh(self) -> None:
        """Read the warehouse if it changed (taking a turn with the ingester); keep the last
        snapshot while the file cannot be had."""
        from autoscope.pipelines.report.build import NoWarehouse, WarehouseBusy, open_warehouse

        if not self.warehouse.exists():
            self.status = f"no warehouse at {self.warehouse} yet"
            return
        signature = self._signature()
        if signature == self._file_signature and self.snapshot is not None:
            self.status = "up to date"
            return
        try:
            with open_warehouse(self.warehouse, write=False, timeout_s=self.turn_timeout_s) as conn:
                self._read(conn)
            self._file_signature = signature
        except NoWarehouse as exc:
            self.status = str(exc)
        except WarehouseBusy as exc:
            self.status = f"{exc}; showing the last data read"
        except Exception as exc:  # a half-migrated or foreign file: say so, keep serving
            log.exception("dashboard refresh failed")
            self.status = f"cannot read the warehouse: {exc}"

    def _read(self, conn: duckdb.DuckDBPyConnection) -> None:
        events, ingested = conn.execute("SELECT count(*), max(ingested_at) FROM event_ids").fetchall()[0]
        through, computed = conn.execute(
            "SELECT max(ingested_through), max(computed_at) FROM indicator_periods"
        ).fetchall()[0]
        types = conn.execute("SELECT list(DISTINCT period_type) FROM indicator_values").fetchall()[0][0]
        marker = (events, ingested, through, computed)
        if marker == self._marker and self.snapshot is not None:
            self.status = "up to date"
            return
        stale = bool(events) and (through is None or (ingested is not None and ingested > through))
        incomplete = bool(events) and not set(PERIOD_TYPES) <= set(types or [])
        release = stored_release(conn)
        frame, live, source = None, False, STORED
        if (stale or incomplete) and release.dp:
            source = STALE_DP
        elif (stale or incomplete) and self.compute_live is None:
            source = STALE
        elif stale or incomplete:
            frame, live, source = self._compute(conn, release)
        if frame is None:
            frame = load_values(conn)
        version = hashlib.sha256(repr(marker).encode()).hexdigest()[:16]
        self.snapshot = Snapshot(
            frame, version, dt.datetime.now(dt.UTC), live, int(events), source, period_epsilons(conn)
        )
        self._marker = marker
        self.status = "up to date"

    def live_k(self, release: Release) -> int | None:
        """The k of a live computation: the stored release's (the strictest stored), or
        ``--k`` when it is higher; ``--k`` alone (or the default) when nothing is stored."""
        ks = [k for k in (release.k, self.k) if k is not None]
        return max(ks) if ks else None

    def _compute(self, conn: duckdb.DuckDBPyConnection, release: Release) -> tuple[pl.DataFrame | None, bool, str]:
        """All indicators, all period types, in memory (read-only: nothing is stored)."""
        assert self.compute_live is not None
        try:
            return self.compute_live(conn, k=self.live_k(release), period_types=PERIOD_TYPES), True, LIVE
        except Exception as exc:  # the stored rows are still right, only older: show them
            log.exception("live computation failed; showing stored indicators")
            return None, False, f"stored indicators (they may be stale: computing the new events failed: {exc})"


def _selector(snapshot: Snapshot, period: str, team: str | None) -> str:
    periods = available_periods(snapshot.frame)
    teams = sorted(snapshot.frame.filter(pl.col("cut") == "team")["cut_value"].unique().to_list())
    options = []
    for ptype, labels in periods.items():
        options.append(
            f'<optgroup label="{e(ptype)}">'
            + "".join(f'<option value="{e(p)}"{" selected" if p == period else ""}>{e(p)}</option>' for p in labels)
            + "</optgroup>"
        )
    team_options = ['<option value="">whole lab</option>'] + [
        f'<option value="{e(t)}"{" selected" if t == team else ""}>{e(t)}</option>' for t in teams
    ]
    return (
        '<form method="get" action="/" class="selector">'
        f'<label>Period <select name="period" onchange="this.form.submit()">{"".join(options)}</select></label> '
        f'<label>Team <select name="team" onchange="this.form.submit()">{"".join(team_options)}</select></label> '
        "<noscript><button>Show</button></noscript></form>"
    )


SCRIPT = """<script>
(function () {
  var shown = document.body.getAttribute("data-version");
  function poll() {
    fetch("/api/version", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) {
        if (!v) return;
        var s = document.getElementById("status");
        if (s) s.textContent = v.status;
        if (v.version && v.version !== shown) location.reload();
      }).catch(function () {});
  }
  setInterval(poll, %d);
})();
</script>"""


def default_period(snapshot: Snapshot) -> str | None:
    periods = available_periods(snapshot.frame)
    for ptype in ("quarter", "month", "week"):
        if periods.get(ptype):
            return periods[ptype][0]
    return None


def create_app(
    data_dir: Path,
    *,
    refresh_s: float = 5.0,
    k: int | None = None,
    data: DashboardData | None = None,
    compute_live: ComputeLive | None = None,
):
    """The dashboard's ASGI app for ``<data_dir>/warehouse.duckdb``; ``compute_live`` (given by
    ``autoscope dashboard``) computes the live view when the stored indicators are behind."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    from autoscope.pipelines.audit import AccessDenied, authorize

    data_dir = Path(data_dir)
    data = data or DashboardData(data_dir / "warehouse.duckdb", refresh_s=refresh_s, k=k, compute_live=compute_live)
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "connect-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }

    pages: dict[tuple, str] = {}
    render_lock = threading.Lock()  # one render at a time: the charts take ~1 s of CPU each

    def render(snapshot: Snapshot, period, team: str | None) -> str:
        """The page of (data version, period, team), rendered once. Runs in a worker thread:
        rendering on the event loop would hold up every other request, /healthz included."""
        key = (snapshot.version, period.label, team)
        with render_lock:
            rendered = pages.get(key)
            if rendered is None:
                rendered = Report(snapshot.frame, period, team, epsilons=snapshot.epsilons).render(
                    live_bar="{LIVE_BAR}", script=SCRIPT % int(refresh_s * 1000)
                )
                rendered = rendered.replace("<body>", f'<body data-version="{snapshot.version}">', 1)
                if len(pages) >= 64:
                    pages.clear()
                pages[key] = rendered
        return rendered

    def check(request: Request) -> str | None:
        """None when allowed, else the reason."""
        token = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        token = token or request.query_params.get("token") or request.cookies.get(COOKIE)
        try:
            authorize(data_dir, token, "read")
        except AccessDenied as exc:
            return str(exc)
        return None

    def denied(reason: str) -> HTMLResponse:
        body = (
            f"<!DOCTYPE html><title>autoscope dashboard</title><h1>Not allowed</h1><p>{e(reason)}</p>"
            "<p>Open the dashboard as <code>/?token=…</code> with a token that has the <b>read</b> scope.</p>"
        )
        return HTMLResponse(body, status_code=401, headers={**headers, "WWW-Authenticate": "Bearer"})

    async def page(request: Request):
        reason = check(request)
        if reason:
            return denied(reason)
        if "token" in request.query_params:  # keep the token out of the address bar and history
            rest = {k: v for k, v in request.query_params.items() if k != "token"}
            response = RedirectResponse("/" + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
            response.set_cookie(COOKIE, request.query_params["token"], httponly=True, samesite="strict")
            return response
        snapshot = data.snapshot
        if snapshot is None or snapshot.frame.height == 0:
            body = (
                f"<!DOCTYPE html><meta http-equiv=refresh content={int(max(refresh_s, 2))}>"
                f"<title>autoscope dashboard</title><p>Nothing to show yet: {e(data.status)}. "
                "This page reloads by itself.</p>"
            )
            return HTMLResponse(body, headers=headers)
        period_label = request.query_params.get("period") or default_period(snapshot)
        team = request.query_params.get("team") or None
        try:
            period = parse_period(period_label)
        except PeriodError as exc:
            return HTMLResponse(f"<p>{e(str(exc))}</p>", status_code=400, headers=headers)
        teams = sorted(snapshot.frame.filter(pl.col("cut") == "team")["cut_value"].unique().to_list())
        if team is not None and team not in teams:  # a typo must not read as a team with no data
            return HTMLResponse(
                f"<p>team {e(team)!r}: no such team in the indicators; the teams are: {e(', '.join(teams))}</p>",
                status_code=400,
                headers=headers,
            )
        bar = (
            f'<div class="live noprint">{_selector(snapshot, period.label, team)}'
            f'<span class="status">{snapshot.events:,} events · {e(snapshot.source)} · read '
            f'{snapshot.read_at.strftime("%H:%M:%S")} UTC · <span id="status">{e(data.status)}</span></span></div>'
        )
        rendered = await run_in_threadpool(render, snapshot, period, team)
        html_text = rendered.replace("{LIVE_BAR}", bar, 1)
        return HTMLResponse(html_text, headers=headers)

    async def version(request: Request):
        reason = check(request)
        if reason:
            return JSONResponse({"error": reason}, status_code=401, headers=headers)
        snap = data.snapshot
        return JSONResponse(
            {"version": snap.version if snap else None, "status": data.status, "events": snap.events if snap else 0},
            headers=headers,
        )

    async def healthz(request: Request):
        return PlainTextResponse("ok", headers=headers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if not data._thread.is_alive():
            data.start()
        try:
            yield
        finally:
            data.stop()

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/api/version", version, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.data = data
    return app


class DashboardServer(HttpServer):
    """The dashboard app served in a background thread (``port=0`` picks a free port)."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        refresh_s: float = 5.0,
        k: int | None = None,
        allow_unauthenticated: bool = False,
        compute_live: ComputeLive | None = None,
    ) -> None:
        from autoscope.core.access import serves_unauthenticated
        from autoscope.core.tokens import TokenStore

        if serves_unauthenticated(TokenStore(Path(data_dir) / "tokens.json"), host, allow_unauthenticated):
            raise PermissionError(
                f"refusing to serve the dashboard on {host} without tokens: create one with "
                "`autoscope token create --name NAME --scope read`, or listen on 127.0.0.1"
            )
        self.app = create_app(data_dir, refresh_s=refresh_s, k=k, compute_live=compute_live)
        super().__init__(self.app, host, port, name="dashboard")

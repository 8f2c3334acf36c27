"""``autoscope status``: what is arriving, what was refused, how far behind things are.

Three sources, each used when it can be reached, and the output says which were:

* the **warehouse** (``<data-dir>/warehouse.duckdb``), opened read-only in a turn
  (:mod:`autoscope.warehouse.turns`), so it works while ``autoscope up`` ingests: what arrived
  per source tool/version, event type and team in the last hour and day (by ingestion time),
  last seen, row counts, messages the ingester could not decode, and the periods that have
  events with how fresh their stored indicators are;
* the **data directory**: the quarantine (entries, top reasons) and the spool's backlog on disk;
* the **collector**, over ``GET /v1/status``: the one ``autoscope up`` runs on this data
  directory (it writes its address to ``<data-dir>/collector.json``), or a remote one given
  with ``--collector-url``: its counters since it started (accepted, rejected by field,
  refused requests by reason), unmapped OTLP telemetry by kind, the spool, the forwarder, the
  ingester's Kafka lag as last measured. With ``--collector-url`` only the collector is asked
  (a remote collector's warehouse is elsewhere).

Freshness of a period's indicators: ``current`` when no event of the period was ingested after
the newest event the stored cells include (``indicator_periods.ingested_through``), ``stale``
with the count of events ingested since otherwise, ``not computed`` when nothing is stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TOKEN_ENV = "AUTOSCOPE_TOKEN"
TOP = 5  # reasons and unmapped names shown per list
RECENT_WEEKS = 8  # weeks shown in the periods table (all of them in --json)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


# ---------------------------------------------------------------- the warehouse


def arrivals(conn: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """Per source tool, version, event type and team: events ingested in the last hour and
    day, in all, and when the last one was ingested and occurred."""
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    union = " UNION ALL ".join(
        f"SELECT event_id, tool, tool_version, '{type_}' AS type, team, occurred_at FROM {table}"
        for type_, table in TABLE_BY_TYPE.items()
    )
    rows = conn.execute(
        f"""
        SELECT e.tool, e.tool_version, e.type, e.team,
               count(*) FILTER (WHERE i.ingested_at >= ?::TIMESTAMP - INTERVAL 1 HOUR) AS last_hour,
               count(*) FILTER (WHERE i.ingested_at >= ?::TIMESTAMP - INTERVAL 1 DAY) AS last_day,
               count(*) AS total, max(i.ingested_at) AS last_ingested, max(e.occurred_at) AS last_occurred
        FROM ({union}) e JOIN event_ids i USING (event_id)
        GROUP BY ALL ORDER BY last_ingested DESC, total DESC""",
        [now, now],
    ).fetchall()
    keys = ("tool", "tool_version", "type", "team", "last_hour", "last_day", "total", "last_ingested", "last_occurred")
    return [
        {k: (_iso(v) if k.startswith("last_") and k not in ("last_hour", "last_day") else v) for k, v in zip(keys, row)}
        for row in rows
    ]


def breakdowns(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The arrivals summed by tool (with version), by event type and by team, busiest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, key in (
        ("by_tool", lambda r: f"{r['tool']} {r['tool_version']}"),
        ("by_type", lambda r: r["type"]),
        ("by_team", lambda r: r["team"]),
    ):
        groups: dict[str, dict[str, Any]] = {}
        for row in rows:
            group = groups.setdefault(
                key(row), {"name": key(row), "last_hour": 0, "last_day": 0, "total": 0, "last_ingested": None}
            )
            for count in ("last_hour", "last_day", "total"):
                group[count] += row[count]
            group["last_ingested"] = max(filter(None, (group["last_ingested"], row["last_ingested"])), default=None)
        out[name] = sorted(groups.values(), key=lambda g: (-g["last_day"], -g["total"], g["name"]))
    return out


def row_counts(conn: Any) -> dict[str, int]:
    """Rows of each warehouse table that exists (events per type, indicators, rejects, audit)."""
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    tables = [*TABLE_BY_TYPE.values(), "event_ids", "ingest_rejects", "indicator_values", "audit_log"]
    present = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in tables if t in present}


def ingest_rejects(conn: Any) -> dict[str, Any]:
    """Kafka messages the ingester could not decode: how many, and the top reasons."""
    rows = conn.execute(
        "SELECT reason, count(*) AS n FROM ingest_rejects GROUP BY reason ORDER BY n DESC, reason LIMIT ?", [TOP]
    ).fetchall()
    total = conn.execute("SELECT count(*) FROM ingest_rejects").fetchall()[0][0]
    return {"messages": int(total), "top_reasons": [{"reason": r, "count": int(n)} for r, n in rows]}


def warehouse_status(path: Path, wait_s: float, now: dt.datetime) -> dict[str, Any]:
    """The warehouse's part of the status (``available: False`` and why, when it cannot be read)."""
    from autoscope.pipelines.report.build import (
        NoWarehouse,
        WarehouseBusy,
        open_warehouse,
    )
    from autoscope.pipelines.report.stored import indicator_freshness

    try:
        with open_warehouse(path, write=False, timeout_s=wait_s) as conn:
            rows = arrivals(conn, now)
            return {
                "available": True,
                "path": str(path),
                "arrivals": rows,
                **breakdowns(rows),
                "rows": row_counts(conn),
                "ingest_rejects": ingest_rejects(conn),
                "periods": indicator_freshness(conn, now),
            }
    except (NoWarehouse, WarehouseBusy) as exc:
        return {"available": False, "path": str(path), "reason": str(exc)}


# ---------------------------------------------------------------- the data directory


def spool_on_disk(directory: Path) -> dict[str, int]:
    """Segments still in the spool (not yet acknowledged by Kafka) and their bytes."""
    segments = sorted(directory.glob("segment-*.log")) if directory.exists() else []
    return {"segments": len(segments), "bytes": sum(p.stat().st_size for p in segments if p.exists())}


def local_collector_url(data_dir: Path) -> str | None:
    """The address a collector running on ``data_dir`` wrote (None when none runs there)."""
    from autoscope.service import RUN_FILE

    try:
        recorded = json.loads((data_dir / RUN_FILE).read_text(encoding="utf-8"))
        os.kill(int(recorded["pid"]), 0)  # a file left by a killed collector names a dead process
        return str(recorded["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- the collector


def collector_status(url: str, token: str | None, timeout_s: float = 10.0) -> dict[str, Any]:
    """``GET URL/v1/status``; ``available: False`` and why when it does not answer with it."""
    request = urllib.request.Request(
        url.rstrip("/") + "/v1/status", headers={"authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return {"available": True, "url": url, **json.load(response)}
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}"
        try:
            reason += f": {json.load(exc)['error']['reason']}"
        except (ValueError, KeyError, TypeError):
            pass
        if exc.code in (401, 403):
            reason += f" (--token or ${TOKEN_ENV}: a token with the read scope)"
        return {"available": False, "url": url, "reason": reason}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"available": False, "url": url, "reason": f"not reachable: {getattr(exc, 'reason', exc)}"}


def gather(
    data_dir: Path,
    *,
    collector_url: str | None = None,
    token: str | None = None,
    wait_s: float = 30.0,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything ``autoscope status`` shows, as one JSON-ready dict."""
    now = now or _utc_now()
    out: dict[str, Any] = {"now": _iso(now), "data_dir": str(data_dir)}
    if collector_url is not None:  # remote: only the collector can be asked
        out["collector"] = collector_status(collector_url, token)
        return out
    url = local_collector_url(data_dir)
    out["collector"] = (
        collector_status(url, token)
        if url
        else {"available": False, "reason": "no collector runs on this data directory"}
    )
    from autoscope.collector.sinks.quarantine import quarantine_summary

    out["quarantine"] = quarantine_summary(data_dir / "quarantine", TOP)
    out["spool"] = spool_on_disk(data_dir / "spool")
    out["warehouse"] = warehouse_status(data_dir / "warehouse.duckdb", wait_s, now)
    return out


# ---------------------------------------------------------------- the command


def status_command(args: argparse.Namespace) -> int:
    """``autoscope status``: 0 when shown, 2 when the data directory does not exist (and no
    ``--collector-url``), 1 when a remote collector could not be asked."""
    from autoscope.status_view import render

    data_dir = Path(args.data_dir).resolve()
    if args.collector_url is None and not data_dir.is_dir():
        from autoscope.core.command_line import UserError

        raise UserError(f"no data directory at {data_dir} (--data-dir, or --collector-url for a remote collector)")
    report = gather(
        data_dir, collector_url=args.collector_url, token=args.token or os.environ.get(TOKEN_ENV), wait_s=args.wait
    )
    if args.json:
        print(json.dumps(report, default=str))
    else:
        render(report)
    remote_failed = args.collector_url is not None and not report["collector"]["available"]
    return 1 if remote_failed else 0

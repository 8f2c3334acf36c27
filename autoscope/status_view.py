"""``autoscope status`` as terminal tables (rich) that fit 80 columns.

Times are shown as ages ("4 min ago"), which are short and what an operator asks about; the
exact UTC times are in ``--json``. Long lists are cut to their first rows with a line saying
how many more ``--json`` has; text columns fold rather than cut.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

MAX_ROWS = 20


def age(when: str | None, now: str) -> str:
    """``"12 s ago"``, ``"4 min ago"``, ``"3 h ago"``, ``"2 d ago"``; ``"never"`` for None."""
    if when is None:
        return "never"
    seconds = (dt.datetime.fromisoformat(now) - dt.datetime.fromisoformat(when).replace(tzinfo=None)).total_seconds()
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _table(title: str, *columns: str) -> Table:
    # min_width: a title wider than the table's columns stays on one line
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, min_width=len(title))
    for column in columns:
        numeric = column in ("1 h", "1 day", "total", "events", "count", "rows")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    return table


def _more(console: Console, shown: int, total: int) -> None:
    if total > shown:
        console.print(f"  … {total - shown} more rows: autoscope status --json")


def render(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    now = report["now"]
    console.print(f"[bold]autoscope status[/] at {now.replace('T', ' ')} UTC")
    if "warehouse" in report:
        console.print(f"data dir: {report['data_dir']}")
    _collector(console, report["collector"], now)
    if "warehouse" in report:
        _local(console, report, now)
    elif report["collector"]["available"]:  # a remote collector: its quarantine is all there is to show
        _quarantine(console, report["collector"]["quarantine"], now)


def _collector(console: Console, collector: dict[str, Any], now: str) -> None:
    where = f" at {collector['url']}" if collector.get("url") else ""
    if not collector["available"]:
        console.print(f"collector{where}: [yellow]not asked[/] ({collector['reason']})")
        return
    lag = collector["ingester_lag"]
    lag_text = (
        f"{lag['records']:,} records behind (measured {age(lag['measured_at'], now)})"
        if lag.get("measured")
        else "not measured yet"
    )
    console.print(
        f"collector{where}: up for {age(collector['started_at'], now).removesuffix(' ago')}; "
        f"{collector['accepted']:,} events accepted"
    )
    console.print(
        f"  spool backlog: {collector['spool']['bytes']:,} bytes in {collector['spool']['segments']} "
        f"segment(s); Kafka: {collector['forwarder']['forwarded_records']:,} records forwarded, "
        f"{collector['forwarder']['kafka_errors']} errors; ingester lag: {lag_text}"
    )
    refused = _table("refused by the collector (since it started)", "what", "reason or field", "count")
    for field, count in sorted(collector["rejected_by_field"].items(), key=lambda i: -i[1])[:5]:
        refused.add_row("event rejected", field, f"{count:,}")
    for reason, count in sorted(collector["requests_refused"].items(), key=lambda i: -i[1])[:5]:
        refused.add_row("request refused", reason, f"{count:,}")
    for reason, count in sorted(collector["dropped"].items(), key=lambda i: -i[1]):
        if count:
            refused.add_row("OTLP record dropped", reason, f"{count:,}")
    if refused.row_count:
        console.print(refused)
    else:
        console.print("  nothing rejected or refused")
    unmapped = collector["otlp"].get("otlp_unmapped", {})
    if unmapped:
        table = _table("OTLP telemetry that maps to no event (by kind and name)", "kind:name", "count")
        for name, count in sorted(unmapped.items(), key=lambda i: -i[1])[:MAX_ROWS]:
            table.add_row(name, f"{count:,}")
        console.print(table)
        _more(console, MAX_ROWS, len(unmapped))
    else:
        console.print("  no unmapped OTLP telemetry")
    _without_identity(console, collector["otlp"].get("otlp_events_without_identity", {}))


def _without_identity(console: Console, by_tool: dict[str, int]) -> None:
    """The tools whose events named no person, and what to set (issue 12: identity)."""
    for tool, count in sorted(by_tool.items(), key=lambda i: -i[1])[:MAX_ROWS]:
        console.print(
            f"  [yellow]no identity[/]: {count:,} event(s) from {tool!r} named no person; they count as "
            "one 'unidentified' person of their team. Set OTEL_RESOURCE_ATTRIBUTES="
            "user.email=<email>,team=<team> on that client, or map its installation id in "
            "[otlp.identity.people] of autoscope.toml (docs/otlp-mapping.md, Identity)."
        )


def _quarantine(console: Console, quarantine: dict[str, Any], now: str) -> None:
    console.print(
        f"quarantine: {quarantine['entries']:,} entries ({quarantine['not_replayed']:,} not replayed), "
        f"last {age(quarantine['last_received_at'], now)}"
    )
    if quarantine["top_reasons"]:
        table = _table("top reasons (autoscope quarantine list)", "field", "reason", "count")
        for item in quarantine["top_reasons"]:
            table.add_row(item["field"], item["reason"], f"{item['count']:,}")
        console.print(table)


def _local(console: Console, report: dict[str, Any], now: str) -> None:
    _quarantine(console, report["quarantine"], now)
    if not report["collector"]["available"]:  # a running collector reported its spool above
        spool = report["spool"]
        console.print(
            f"spool on disk: {spool['bytes']:,} bytes in {spool['segments']} segment(s) "
            "not yet in Kafka, or (embedded broker) not yet confirmed read by the ingester"
        )
        console.print("Kafka lag: unknown (the running collector measures it)")
    warehouse = report["warehouse"]
    if not warehouse["available"]:
        console.print(f"warehouse: [yellow]not read[/] ({warehouse['reason']})")
        return
    if not warehouse["arrivals"]:
        console.print("warehouse: no events yet")
    for key, what in (("by_tool", "source tool and version"), ("by_type", "event type"), ("by_team", "team")):
        arrived = _table(
            f"arrived in the warehouse, by {what}",
            what.split()[-1] if key != "by_tool" else "tool",
            "1 h",
            "1 day",
            "total",
            "last seen",
        )
        for row in warehouse[key][:MAX_ROWS]:
            arrived.add_row(
                row["name"],
                f"{row['last_hour']:,}",
                f"{row['last_day']:,}",
                f"{row['total']:,}",
                age(row["last_ingested"], now),
            )
        if arrived.row_count:
            console.print(arrived)
            _more(console, MAX_ROWS, len(warehouse[key]))
    rows = warehouse["rows"]
    console.print("warehouse rows: " + ", ".join(f"{table} {count:,}" for table, count in rows.items()))
    rejects = warehouse["ingest_rejects"]
    if rejects["messages"]:
        console.print(
            f"Kafka messages the ingester could not decode: {rejects['messages']:,} (top: "
            + "; ".join(f"{r['reason']} ×{r['count']}" for r in rejects["top_reasons"])
            + ")"
        )
    periods = _table(
        "periods with events, and their indicators", "period", "ended", "events", "last in", "computed", "indicators"
    )
    shown = [p for p in warehouse["periods"] if p["period_type"] != "week"]
    weeks = [p for p in warehouse["periods"] if p["period_type"] == "week"]
    for row in [*shown, *weeks[:8]]:
        periods.add_row(
            row["period"],
            "yes" if row["complete"] else "no",
            f"{row['events']:,}",
            age(row["last_ingested"], now),
            age(row["computed_at"], now) if row["computed_at"] else "–",
            row["indicators"],
        )
    console.print(periods)
    _more(console, len(shown) + min(len(weeks), 8), len(warehouse["periods"]))

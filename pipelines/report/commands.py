"""Handlers of ``autoscope report | dashboard | export [verify] | audit`` and ``key release-…``
(parsers: autoscope/cli.py; the convention: :mod:`autoscope.core.command_line`).

Kept here, next to the work they do, and imported lazily by the CLI. The readers never compute
(reads never write); where a command must compute first, its handler composes that step
explicitly with :mod:`autoscope.pipelines.compute_first`: ``report`` computes what the period
needs before rendering, ``export`` hands the export the step to run once the request is
authorized, ``dashboard`` hands the dashboard the in-memory computation of its live view. Exit codes: 0 done,
1 failed (no warehouse, busy warehouse, a set that does not verify), 2 refused or bad request
(a malformed period, a period with no events, a raw table, a missing token, the privacy budget).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TOKEN_ENV = "AUTOSCOPE_TOKEN"


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)  # messages are not wrapped: paths and reasons stay whole


def _refuse(command: str, message: str) -> int:
    """A bad request in the CLI's form: one line on stderr, exit code 2 (as argparse's errors)."""
    print(f"autoscope {command}: error: {message}", file=sys.stderr)
    return 2


def _default_period(data_dir: Path, console, what: str) -> str | None:
    """The latest complete period that has events, said aloud; None (after saying why) if none."""
    from autoscope.pipelines.periods import latest_complete_period
    from autoscope.pipelines.report.build import open_warehouse

    with open_warehouse(data_dir / "warehouse.duckdb", write=False) as conn:
        period = latest_complete_period(conn)
    if period is None:
        console.print(
            f"[red]no complete period has events yet[/]: give --period for {what} "
            "(`autoscope report --list-periods` lists them)"
        )
        return None
    console.print(f"period {period}: the latest complete period with events (--period to choose another)")
    return period


def list_periods(data_dir: Path, as_json: bool = False) -> int:
    """``report --list-periods``: every period with events, whether it has ended, and whether
    its indicators are stored and current."""
    import json

    from rich.table import Table

    from autoscope.pipelines.periods import DEFAULT_ORDER, is_complete, periods_with_events
    from autoscope.pipelines.report.build import open_warehouse
    from autoscope.pipelines.report.stored import indicator_freshness

    with open_warehouse(data_dir / "warehouse.duckdb", write=False) as conn:
        fresh = {(row["period_type"], row["period"]): row for row in indicator_freshness(conn)}
        rows = [
            {
                "period": p,
                "period_type": t,
                "complete": is_complete(p),
                "indicators": fresh.get((t, p), {}).get("indicators", "not computed"),
            }
            for t in DEFAULT_ORDER
            for p in reversed(periods_with_events(conn, t))
        ]
    if as_json:
        print(json.dumps(rows))
        return 0
    table = Table(
        "period", "type", "ended", "indicators", title="periods with events (newest first)", title_justify="left"
    )
    for row in rows:
        table.add_row(row["period"], row["period_type"], "yes" if row["complete"] else "no, current", row["indicators"])
    _console().print(table)
    return 0


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def cmd_report(args: argparse.Namespace) -> int:
    from autoscope.pipelines.compute_first import ensure_for_read
    from autoscope.pipelines.privacy import BudgetExceeded
    from autoscope.pipelines.report.build import (
        KTooLow,
        NoWarehouse,
        PeriodUnavailable,
        UnknownTeam,
        WarehouseBusy,
        write_report,
    )
    from autoscope.pipelines.report.data import PeriodError, parse_period

    console = _console()
    data_dir = Path(args.data_dir).resolve()
    try:
        if args.list_periods:
            return list_periods(data_dir)
        if args.period is None:
            args.period = _default_period(data_dir, console, "the report")
            if args.period is None:
                return 2
    except (NoWarehouse, WarehouseBusy) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    out = Path(args.out or f"report-{args.period}{'-' + args.team if args.team else ''}.html")
    try:
        warehouse = data_dir / "warehouse.duckdb"
        # compute first when the stored indicators lack the period (or --refresh, or a stricter --k); then read
        computed = ensure_for_read(warehouse, parse_period(args.period), refresh=args.refresh, k=args.k, team=args.team)
        path, report = write_report(warehouse, args.period, out, team=args.team)
    except (PeriodError, PeriodUnavailable, UnknownTeam, KTooLow) as exc:
        console.print(f"[red]{_escape(str(exc))}[/]")
        return 2
    except BudgetExceeded as exc:
        console.print(f"[red]refused by the privacy budget:[/] {exc}")
        return 2
    except (NoWarehouse, WarehouseBusy) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    if computed:
        console.print(
            f"computed and stored the indicators (every period type, in full) for {args.period}: "
            "they were not in the warehouse yet"
        )
    drawn = ", ".join(report.charts_drawn) or "none"
    console.print(f"report: [cyan]{path.resolve()}[/] ({path.stat().st_size / 1024:.0f} KB; charts with data: {drawn})")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import signal
    import threading

    from autoscope.core.http_server import ListenError, check_port_free
    from autoscope.pipelines.dashboard import DashboardServer
    from autoscope.pipelines.jobs import compute_indicators

    console = _console()
    try:  # before uvicorn tries: it would log its own error and leave us a vague one
        check_port_free(args.host, args.port, "--port")
    except ListenError as exc:
        return _refuse("dashboard", str(exc))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = DashboardServer(
            Path(args.data_dir).resolve(),
            host=args.host,
            port=args.port,
            refresh_s=args.refresh,
            k=args.k,
            allow_unauthenticated=args.allow_unauthenticated,
            compute_live=compute_indicators,
        ).start()
    except (PermissionError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    console.print(f"[bold green]dashboard[/] at [cyan]{server.url}[/] (read-only; refreshes every {args.refresh:g} s)")
    console.print("  with tokens configured, open it as /?token=… (a token with the read scope); Ctrl-C to stop")
    sys.stdout.flush()
    stop.wait()
    server.stop()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autoscope.pipelines.compute_first import ensure_stored
    from autoscope.pipelines.export import ExportError, ExportRefused, export_period, verify
    from autoscope.pipelines.report.build import NoWarehouse, WarehouseBusy

    console = _console()
    words = list(args.action or [])
    if words and words[0] == "verify":
        from autoscope.pipelines.signing import ReleaseKeyError

        if len(words) != 2:
            print(
                "autoscope export verify: error: give one directory: autoscope export verify DIR [--public-key FILE]",
                file=sys.stderr,
            )
            return 2
        key = Path(args.public_key) if args.public_key else None
        try:
            problems = verify(Path(words[1]), public_key=key)
        except ReleaseKeyError as exc:
            return _refuse("export verify", f"--public-key: {exc}")
            return 2
        if problems:
            console.print(f"[bold red]{_escape(words[1])} does NOT verify:[/]")
            for problem in problems:
                console.print(f"  - {_escape(problem)}")
            return 1
        console.print(f"[green]{_escape(words[1])}: every file matches manifest.json (SHA-256 and row counts)[/]")
        if key is None:
            console.print(
                "[yellow]the manifest's signature was NOT checked (no --public-key): this shows the files "
                "match the manifest beside them, not that the lab issued it[/]"
            )
        else:
            console.print(f"[green]manifest.json is signed by the release key in {_escape(str(key))}[/]")
        return 0
    if words:
        return _refuse(
            "export",
            f"unknown export action {' '.join(words)!r}: use `autoscope export --period P "
            "--format F --out DIR` or `autoscope export verify DIR`",
        )
    missing = [name for name in ("format", "out") if not getattr(args, name)]
    if missing:
        return _refuse("export", f"needs {', '.join('--' + m for m in missing)}")
    lake = getattr(args, "lake", None)  # the [warehouse] lake, set by autoscope.commands:cmd_export
    snapshot = getattr(args, "snapshot", None)
    if snapshot is not None and lake is None:
        return _refuse("export", '--snapshot reads a lake snapshot: it needs [warehouse] backend = "ducklake"')
    if args.period is None and lake is not None:
        return _refuse("export", "with the ducklake warehouse, give --period")
    if args.period is None:
        try:
            args.period = _default_period(Path(args.data_dir).resolve(), console, "the export")
        except (NoWarehouse, WarehouseBusy) as exc:
            console.print(f"[red]{exc}[/]")
            return 1
        if args.period is None:
            return 2
    token = args.token or os.environ.get(TOKEN_ENV)
    try:
        result = export_period(
            Path(args.data_dir).resolve(),
            args.period,
            args.format,
            Path(args.out),
            token=token,
            tables=args.table or ["indicator_values"],
            k=args.k,
            compute_first=ensure_stored,
            lake=lake,
            snapshot=snapshot,
        )
    except (ExportRefused, ExportError) as exc:
        console.print(f"[bold red]{_escape(str(exc))}[/] (recorded in the audit log)")
        return 2
    except ValueError as exc:
        console.print(f"[red]{_escape(str(exc))}[/]")
        return 2
    except (NoWarehouse, WarehouseBusy) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    files = result.manifest["files"]
    console.print(
        f"exported {args.period} as {args.format}: {len(files)} files, "
        f"{sum(f['rows'] for f in files):,} rows → [cyan]{result.out_dir.resolve()}[/]"
    )
    console.print(f"manifest: {result.out_dir / 'manifest.json'}; audit entry {result.audit_id}")
    if result.signature:
        console.print(
            f"signed by {result.signature['signer']} (manifest.sig); auditors check it with "
            "`autoscope export verify DIR --public-key FILE`, the key from `autoscope key release-public`"
        )
    if result.key_created:
        console.print(
            f"created the lab's release key {result.signature['key_id']} (first export); "
            "`autoscope key release-public` prints its public key for auditors"
        )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from rich.table import Table

    from autoscope.pipelines.audit import entries
    from autoscope.pipelines.report.build import NoWarehouse, WarehouseBusy, open_warehouse
    from autoscope.pipelines.report.data import has_table

    console = _console()
    try:
        with open_warehouse(Path(args.data_dir).resolve() / "warehouse.duckdb", write=False) as conn:
            rows = entries(conn, args.limit) if has_table(conn, "audit_log") else None
    except (NoWarehouse, WarehouseBusy) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    if rows is None or rows.height == 0:
        console.print("no exports recorded yet")
        return 0
    if args.json:
        print(rows.write_json())
        return 0
    from rich.console import Console

    console = Console(width=max(Console().width, 240))  # the manifest's SHA-256 whole, never cut
    table = Table(
        "when (UTC)",
        "outcome",
        "who",
        "token",
        "period",
        "format",
        "files",
        "rows",
        title="exports (newest first)",
        title_justify="left",
    )
    # the manifest's hash and its signer whole: they are what an auditor compares with a delivered set
    table.add_column("manifest SHA-256", no_wrap=True, min_width=64)
    table.add_column("signer (release key)", no_wrap=True, min_width=16)
    table.add_column("out")
    table.add_column("detail")
    for r in rows.iter_rows(named=True):
        table.add_row(
            str(r["occurred_at"])[:19],
            r["outcome"],
            r["who"],
            r["token_id"] or "–",
            r["period"] or "",
            r["format"] or "",
            "" if r["files"] is None else str(r["files"]),
            "" if r["rows_exported"] is None else f"{r['rows_exported']:,}",
            r["manifest_sha256"] or "–",
            r["signer"] or "–",
            r["out_dir"] or "",
            _escape((r["detail"] or "")[:70]),
        )
    console.print(table)
    return 0


def cmd_release_key(args: argparse.Namespace) -> int:
    """``autoscope key release-create | release-rotate | release-public``: the key that signs exports."""
    from autoscope.pipelines import signing

    console = _console()
    data_dir = Path(args.data_dir).resolve()
    try:
        if args.key_command == "release-create":
            key = signing.create(data_dir)
            console.print(
                f"release key {key.key_id} created in {_escape(str(key.path))} (readable by you only); "
                "give auditors its public key: `autoscope key release-public --out FILE`"
            )
        elif args.key_command == "release-rotate":
            old, key = signing.rotate(data_dir)
            console.print(
                f"release key rotated: {old or '(none)'} -> {key.key_id}; exports are signed with the new key "
                "from now on. The old key is kept under keys/retired/ so that `autoscope key release-public "
                f"--key-id {old or 'ID'}` still gives the public key that checks older exports"
            )
        else:
            pem = signing.public_key_pem(data_dir, args.key_id)
            if args.out:
                Path(args.out).write_text(pem, encoding="utf-8")
                console.print(f"public key written to {_escape(args.out)}")
            else:
                print(pem, end="")
    except signing.ReleaseKeyError as exc:
        console.print(f"[red]{_escape(str(exc))}[/]")
        return 2
    return 0

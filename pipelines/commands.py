"""Handler of ``autoscope indicators``: compute, store, then print (parsers: autoscope/cli.py;
the convention: :mod:`autoscope.core.command_line`). The report, dashboard, export and audit
handlers are in :mod:`autoscope.pipelines.report.commands`."""

from __future__ import annotations

import argparse

from autoscope.core.command_line import data_dir_of


def cmd_indicators(args: argparse.Namespace) -> int:
    import duckdb
    from rich.console import Console

    from autoscope.pipelines.jobs import run
    from autoscope.pipelines.privacy import BudgetExceeded
    from autoscope.warehouse.schema import migrate
    from autoscope.warehouse.turns import TurnTimeout, turn

    show_all = args.all or bool(args.cut)
    # the full tables have a column per metric: they are wider than a terminal by design
    console = Console(width=max(Console().width, 120)) if show_all else Console()
    lake = getattr(args, "lake", None)  # the [warehouse] lake, set by autoscope.commands:cmd_indicators
    if lake is not None:
        return _indicators_in_lake(args, console, lake, period_types_of(args, show_all), show_all)
    path = data_dir_of(args) / "warehouse.duckdb"
    if not path.exists():
        console.print(f"[red]no warehouse at {path}[/]: run `autoscope up` or `autoscope demo` first")
        return 1
    period_types = period_types_of(args, show_all)
    try:
        # a running ingester hands the file over between batches and takes it back afterwards
        with turn(path, timeout_s=args.wait):
            conn = duckdb.connect(str(path))
            try:
                migrate(conn)
                result = run(conn, k=args.k, full=args.full, epsilon=args.epsilon, budget=args.budget)
                frame = _stored(conn, period_types)
            finally:
                conn.close()
    except TurnTimeout as exc:
        console.print(f"[red]the warehouse was not handed over within {args.wait:g} s[/]: {exc}")
        return 1
    except BudgetExceeded as exc:
        console.print(f"[red]refused by the privacy budget:[/] {exc}")
        return 2
    except duckdb.IOException as exc:
        console.print(f"[red]the warehouse {path} is open in a process that does not take turns[/]: {exc}")
        return 1
    _print(args, console, frame, result, period_types, show_all, str(path))
    return 0


def period_types_of(args: argparse.Namespace, show_all: bool) -> tuple[str, ...]:
    """The headline shows weeks (as the demo does); --all shows every period type."""
    return tuple(args.period or (("week", "month", "quarter") if show_all else ("week",)))


def _stored(conn, period_types: tuple[str, ...]):  # type: ignore[no-untyped-def]
    import polars as pl

    return pl.from_arrow(
        conn.sql(  # everything stored, this run's and earlier
            "SELECT * FROM indicator_values WHERE list_contains(?, period_type)"
            " ORDER BY indicator, period_type, period, cut, cut_value, metric",
            params=[list(period_types)],
        ).to_arrow_table()
    )


def _indicators_in_lake(args: argparse.Namespace, console, lake, period_types, show_all: bool) -> int:  # type: ignore[no-untyped-def]
    """The same run on the lake: no turn to wait for (readers and the ingester run beside it); the
    run's snapshot is said, since it is what a later export of these rows will read."""
    from autoscope.pipelines.jobs import run
    from autoscope.pipelines.privacy import BudgetExceeded
    from autoscope.warehouse.lake import connect_lake, current_snapshot
    from autoscope.warehouse.schema import migrate

    conn = connect_lake(lake)
    try:
        migrate(conn)
        try:
            result = run(conn, k=args.k, full=args.full, epsilon=args.epsilon, budget=args.budget)
        except BudgetExceeded as exc:
            console.print(f"[red]refused by the privacy budget:[/] {exc}")
            return 2
        frame = _stored(conn, period_types)
        where = f"{lake.describe()}, snapshot {current_snapshot(conn)}"
    finally:
        conn.close()
    _print(args, console, frame, result, period_types, show_all, where)
    return 0


def _print(args, console, frame, result, period_types, show_all: bool, where: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    from autoscope.pipelines.console_tables import full_tables, summary_tables

    if args.cut:
        frame = frame.filter(pl.col("cut").is_in(["lab", *args.cut]))
    recomputed = ", ".join(f"{len(v)} {pt}(s)" for pt, v in result.periods.items() if v) or "nothing new"
    for period_type in period_types:
        console.print(full_tables(frame, period_type) if show_all else summary_tables(frame, period_type))
    if not show_all:
        console.print("headline metrics only; --all prints every indicator and cut (--cut picks cuts)")
    console.print(
        f"{'full run' if result.full else 'incremental run'}: recomputed {recomputed}; "
        f"stored in [cyan]{where}[/] table indicator_values"
    )

"""Handler of ``autoscope indicators``: compute, store, then print (parsers: autoscope/cli.py;
the convention: :mod:`autoscope.core.command_line`). The report, dashboard, export and audit
handlers are in :mod:`autoscope.pipelines.report.commands`."""

from __future__ import annotations

import argparse

from autoscope.core.command_line import data_dir_of


def cmd_indicators(args: argparse.Namespace) -> int:
    import duckdb
    import polars as pl
    from rich.console import Console

    from autoscope.pipelines.console_tables import full_tables, summary_tables
    from autoscope.pipelines.jobs import run
    from autoscope.pipelines.privacy import BudgetExceeded
    from autoscope.pipelines.team_classes import for_command
    from autoscope.warehouse.schema import migrate
    from autoscope.warehouse.turns import TurnTimeout, turn

    show_all = args.all or bool(args.cut)
    # the full tables have a column per metric: they are wider than a terminal by design
    console = Console(width=max(Console().width, 120)) if show_all else Console()
    path = data_dir_of(args) / "warehouse.duckdb"
    if not path.exists():
        console.print(f"[red]no warehouse at {path}[/]: run `autoscope up` or `autoscope demo` first")
        return 1
    # the headline shows weeks (as the demo does); --all shows every period type
    period_types = tuple(args.period or (("week", "month", "quarter") if show_all else ("week",)))
    classes = for_command(args)  # before any work: a bad class configuration is refused first
    try:
        # a running ingester hands the file over between batches and takes it back afterwards
        with turn(path, timeout_s=args.wait):
            conn = duckdb.connect(str(path))
            try:
                migrate(conn)
                result = run(conn, k=args.k, full=args.full, epsilon=args.epsilon, budget=args.budget, classes=classes)
                frame = pl.from_arrow(
                    conn.sql(  # everything stored, this run's and earlier
                        "SELECT * FROM indicator_values WHERE list_contains(?, period_type)"
                        " ORDER BY indicator, period_type, period, cut, cut_value, metric",
                        params=[list(period_types)],
                    ).to_arrow_table()
                )
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
    if args.cut:
        frame = frame.filter(pl.col("cut").is_in(["lab", *args.cut]))
    recomputed = ", ".join(f"{len(v)} {pt}(s)" for pt, v in result.periods.items() if v) or "nothing new"
    for period_type in period_types:
        console.print(full_tables(frame, period_type) if show_all else summary_tables(frame, period_type))
    if not show_all:
        console.print("headline metrics only; --all prints every indicator and cut (--cut picks cuts)")
    console.print(
        f"{'full run' if result.full else 'incremental run'}: recomputed {recomputed}; "
        f"stored in [cyan]{path}[/] table indicator_values"
    )
    return 0

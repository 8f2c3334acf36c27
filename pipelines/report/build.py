"""Open the warehouse, make sure the period's indicators are in ``indicator_values``, render.

The report reads only ``indicator_values``. When the requested period (or its weeks) has no
rows yet — the indicator job computes ISO weeks by default — the indicator job is run for the
period types the report needs (week and the period's own type) and its results are stored
first, so that every number on the page is one the table holds (``--refresh`` forces that).

Warehouse access: DuckDB lets one process open the file at a time (see
:mod:`autoscope.warehouse.ingester`), so the report, the export and the audit listing take a
turn (:mod:`autoscope.warehouse.turns`): a running ingester closes the file between two
batches, lets them work, and reopens it. The file is opened read-only when the numbers are
already stored, read-write when they must be computed (or, for an export, audited).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from autoscope.pipelines.report.data import Period, chart_weeks, load_values, parse_period
from autoscope.pipelines.report.html import Report


#: how long to wait for the ingester to hand the file over
TURN_TIMEOUT_S = 120.0


class WarehouseBusy(RuntimeError):
    """The warehouse file is held by another process."""


class NoWarehouse(FileNotFoundError):
    pass


@contextlib.contextmanager
def open_warehouse(path: Path, *, write: bool, timeout_s: float = TURN_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file, taken in turn with a running ingester.

    The ingester hands the file over between two batches when a process asks for a turn
    (:mod:`autoscope.warehouse.turns`); the connection is closed, and the turn given back,
    when the block ends — keep the block short.
    """
    from autoscope.warehouse.turns import TurnTimeout, turn

    path = Path(path)
    if not path.exists():
        raise NoWarehouse(f"no warehouse at {path}: run `autoscope up` or `autoscope demo` first")
    try:
        with turn(path, timeout_s=timeout_s):
            try:
                conn = duckdb.connect(str(path), read_only=not write)
            except duckdb.IOException as exc:
                if "lock" in str(exc).lower():  # a process that does not take turns holds it
                    raise WarehouseBusy(
                        f"the warehouse {path} is open in another process that does not take turns "
                        "(DuckDB allows one process per file): stop it and run this again"
                    ) from exc
                raise
            try:
                yield conn
            finally:
                conn.close()
    except TurnTimeout as exc:
        raise WarehouseBusy(
            f"the warehouse {path} was not handed over within {timeout_s:g} s (the ingester is busy "
            f"with a long batch, or stuck): {exc}"
        ) from exc


def needed_periods(period: Period) -> list[str]:
    """The period labels the report reads: the period, the one before, the chart's weeks."""
    return [period.label, period.previous().label, *chart_weeks(period)]


def is_covered(conn: duckdb.DuckDBPyConnection, period: Period) -> bool:
    rows = conn.execute(
        "SELECT count(*) FILTER (WHERE period_type = ? AND period = ?),"
        "       count(*) FILTER (WHERE period_type = 'week' AND list_contains(?, period))"
        " FROM indicator_values",
        [period.period_type, period.label, period.weeks()],
    ).fetchall()[0]
    return bool(rows[0]) and (bool(rows[1]) or period.period_type == "week")


def has_events_in(conn: duckdb.DuckDBPyConnection, period: Period) -> bool:
    rows = conn.execute(
        "SELECT count(*) FROM tasks WHERE occurred_at >= ? AND occurred_at < ?",
        [dt.datetime.combine(period.start, dt.time()), dt.datetime.combine(period.end, dt.time())],
    ).fetchall()
    return bool(rows[0][0])


def compute_period_types(conn: duckdb.DuckDBPyConnection, period: Period, k: int | None = None,
                         full: bool = False) -> None:
    """Run the indicator job (and store) so that weeks and the period's own type are present."""
    import inspect

    from autoscope.pipelines.jobs import run_indicators
    from autoscope.warehouse.schema import migrate

    migrate(conn)
    needed = ("week", period.period_type)
    # the job's signature grows with issue 6: pass only what it accepts, and keep its own
    # default period types when they already include what the report needs
    accepted = inspect.signature(run_indicators).parameters
    kwargs: dict = {}
    if k is not None:
        kwargs["k"] = k
    if "period_types" in accepted:
        default = accepted["period_types"].default
        if default is inspect.Parameter.empty or not set(needed) <= set(default or ()):
            kwargs["period_types"] = tuple(dict.fromkeys(needed))
    if full and ("full" in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values())):
        kwargs["full"] = True
    run_indicators(conn, **kwargs)


def load_for_period(path: Path, period: Period, *, refresh: bool = False, k: int | None = None) -> tuple[pl.DataFrame, bool]:
    """The rows the report of ``period`` needs; (rows, computed now?)."""
    computed = False
    if not refresh:
        with open_warehouse(path, write=False) as conn:
            covered = is_covered(conn, period)
            if covered:
                return load_values(conn, needed_periods(period)), False
    with open_warehouse(path, write=True) as conn:
        if refresh or not is_covered(conn, period):
            compute_period_types(conn, period, k, full=refresh)
            computed = True
        return load_values(conn, needed_periods(period)), computed


def write_report(path: Path, period_label: str, out: Path, *, team: str | None = None,
                 refresh: bool = False, k: int | None = None) -> tuple[Path, Report, bool]:
    """Render the report of ``period_label`` from the warehouse at ``path`` into ``out``."""
    period = parse_period(period_label)
    frame, computed = load_for_period(path, period, refresh=refresh, k=k)
    report = Report(frame, period, team)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(), encoding="utf-8")
    return out, report, computed

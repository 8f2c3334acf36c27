"""Open the warehouse, read the period's stored indicators from ``indicator_values``, render.

The report reads only ``indicator_values``, so that every number on the page is one the table
holds, and it never computes: reads never write. When the requested period (or its weeks) has
no rows yet, the ``autoscope report`` command first runs
:func:`autoscope.pipelines.compute_first.ensure_for_read` (the indicator job in full with the
stored release's k and epsilon; ``--refresh`` forces that), then this module reads.

Warehouse access: DuckDB lets one process open the file at a time (see
:mod:`autoscope.warehouse.ingester`), so the report, the export, the audit listing and the
dashboard all open it with :func:`open_warehouse`, which takes a turn
(:mod:`autoscope.warehouse.turns`): a running ingester closes the file between two batches,
lets them work, and reopens it. The file is opened read-only when the numbers are already
stored, read-write when they must be computed (or, for an export, audited).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from autoscope.pipelines.coverage import Span
from autoscope.pipelines.periods import bounds
from autoscope.pipelines.report.data import Period, chart_weeks, has_table, load_values, parse_period
from autoscope.pipelines.report.html import Report
from autoscope.pipelines.report.stored import (
    needed_types,
    period_epsilons,
    uncovered,
)

#: how long to wait for the ingester to hand the file over
TURN_TIMEOUT_S = 120.0


class WarehouseBusy(RuntimeError):
    """The warehouse file is held by another process."""


class NoWarehouse(FileNotFoundError):
    """There is no warehouse file at the path (nothing was ingested there yet)."""


class PeriodUnavailable(LookupError):
    """The period has no stored indicators and none can be computed (it has no events)."""


class UnknownTeam(LookupError):
    """``--team`` names no team the stored indicators have (a typo): the message lists them."""


def check_team(conn: duckdb.DuckDBPyConnection, team: str | None) -> None:
    """Refuse a team the stored indicators never name (:class:`UnknownTeam`, listing the teams)."""
    if team is None:
        return
    teams = sorted(
        r[0] for r in conn.execute("SELECT DISTINCT cut_value FROM indicator_values WHERE cut = 'team'").fetchall()
    )
    if team not in teams:
        raise UnknownTeam(
            f"--team {team!r}: no such team in the indicators; the teams are: "
            + (", ".join(teams) or "(none stored yet)")
        )


class KTooLow(ValueError):
    """A k below the stored release's was asked for: it would release cells the stored one hides."""


@contextlib.contextmanager
def open_warehouse(
    path: Path, *, write: bool, timeout_s: float = TURN_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
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


@dataclasses.dataclass
class Loaded:
    """The rows a report of one period reads, and what is known about how they were made."""

    frame: pl.DataFrame
    epsilons: dict[tuple[str, str], float]  # the periods released under differential privacy
    span: Span | None = None  # when the warehouse collected (coverage)


def collection_span(conn: duckdb.DuckDBPyConnection) -> Span:
    """From the first stored week with rows to when the stored indicators were computed."""
    first, as_of = conn.execute(
        "SELECT min(period) FILTER (WHERE period_type = 'week'), max(computed_at) FROM indicator_values"
    ).fetchall()[0]
    return Span(None if first is None else bounds("week", first)[0], as_of)


def load_for_period(path: Path, period: Period, *, team: str | None = None) -> Loaded:
    """The stored rows the report of ``period`` needs, read only; ``team`` is checked against the
    stored teams first (:class:`UnknownTeam`). Raises :class:`PeriodUnavailable` when they are not
    all stored: the command computes first (:func:`autoscope.pipelines.compute_first.ensure_for_read`)."""
    types = needed_types(period, ["week"])
    with open_warehouse(path, write=False) as conn:
        if not has_table(conn, "indicator_values"):
            raise PeriodUnavailable(f"refused: no indicators are stored yet for {period.label}")
        check_team(conn, team)
        missing = uncovered(conn, period, types)
        if missing:
            raise PeriodUnavailable(f"refused: no indicators are stored for {' and '.join(missing)} of {period.label}")
        return Loaded(load_values(conn, needed_periods(period)), period_epsilons(conn), collection_span(conn))


def write_report(path: Path, period_label: str, out: Path, *, team: str | None = None) -> tuple[Path, Report]:
    """Render the report of ``period_label`` from the stored indicators of the warehouse at
    ``path`` into ``out`` (reads only; the command computes first when it must)."""
    period = parse_period(period_label)
    loaded = load_for_period(path, period, team=team)
    report = Report(loaded.frame, period, team, epsilons=loaded.epsilons, span=loaded.span)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(), encoding="utf-8")
    return out, report

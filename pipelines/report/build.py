"""Open the warehouse, make sure the period's indicators are in ``indicator_values``, render.

The report reads only ``indicator_values``, so that every number on the page is one the table
holds. When the requested period (or its weeks) has no rows yet — ``autoscope indicators
--period week`` stores weeks only — :func:`ensure_stored` runs the indicator job in full with
the stored release's k and epsilon and stores its results first (``--refresh`` forces that);
a period with no events is refused with a message saying so, never reported empty.

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
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import polars as pl

from autoscope.pipelines.coverage import Span
from autoscope.pipelines.periods import bounds
from autoscope.pipelines.report.data import Period, chart_weeks, has_table, load_values, parse_period
from autoscope.pipelines.report.html import Report
from autoscope.pipelines.report.stored import (
    event_span, has_events_in, needed_types, period_epsilons, stored_release, uncovered,
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
    teams = sorted(r[0] for r in conn.execute(
        "SELECT DISTINCT cut_value FROM indicator_values WHERE cut = 'team'").fetchall())
    if team not in teams:
        raise UnknownTeam(f"--team {team!r}: no such team in the indicators; the teams are: "
                          + (", ".join(teams) or "(none stored yet)"))


class KTooLow(ValueError):
    """A k below the stored release's was asked for: it would release cells the stored one hides."""


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


def ensure_stored(conn: duckdb.DuckDBPyConnection, period: Period, period_types: Sequence[str], *,
                  k: int | None = None, refresh: bool = False) -> bool:
    """Make sure ``period`` and the ``period_types`` inside it are stored; True if computed now.

    When they are not (or ``refresh``), the indicator job runs in full: an incremental run only
    recomputes quarters that received events since its last run, so it never fills in a period
    type that was not asked for before. It runs for *every* period type, not only the missing
    ones, because complementary suppression decides weeks, months and quarters together
    (:mod:`autoscope.pipelines.anonymize`): types released by separate runs could be differenced.
    It uses the stored release's k and epsilon, so computing a missing period never releases it
    with a weaker k or without the differential privacy of the rest. A ``k`` above the stored
    one is honoured at once (the whole release is recomputed with it, stored or not); one below
    is refused with :class:`KTooLow`.

    Raises :class:`PeriodUnavailable` when the period has no events (checked before computing:
    nothing would come of it) or is still not covered after the run, and
    :class:`~autoscope.pipelines.privacy.BudgetExceeded` when the privacy budget refuses the run.
    """
    from autoscope.pipelines.jobs import run
    from autoscope.warehouse.schema import migrate

    migrate(conn)
    release = stored_release(conn)
    if k is not None and release.k is not None and k != release.k:
        if k < release.k:
            raise KTooLow(
                f"refused: the stored release uses k={release.k}; a release with the smaller k={k} would show "
                f"cells the stored one suppresses (k can be raised, never lowered): use --k {release.k} or more")
        refresh = True  # a stricter k: the whole release is recomputed with it (suppression is decided together)
    if not refresh and not uncovered(conn, period, period_types):
        return False
    if not has_events_in(conn, period):
        span = event_span(conn)
        holds = (f"the warehouse holds events from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}" if span
                 else "the warehouse holds no events yet")
        raise PeriodUnavailable(
            f"refused: {period.label} ({period.start:%Y-%m-%d} to {period.end - dt.timedelta(days=1):%Y-%m-%d}) "
            f"has no events, so it has no indicators; {holds}")
    run(conn, k=k if k is not None else release.k, full=True,
        epsilon=release.epsilon, budget=release.budget)
    missing = uncovered(conn, period, period_types)
    if missing:
        raise PeriodUnavailable(
            f"refused: {period.label} has events, but the indicator job stored no rows for "
            f"{' and '.join(missing)}")
    return True


@dataclasses.dataclass
class Loaded:
    """The rows a report of one period reads, and what is known about how they were made."""

    frame: pl.DataFrame
    computed: bool                          # the job ran for this report
    epsilons: dict[tuple[str, str], float]  # the periods released under differential privacy
    span: Span | None = None                # when the warehouse collected (coverage)


def collection_span(conn: duckdb.DuckDBPyConnection) -> Span:
    """From the first stored week with rows to when the stored indicators were computed."""
    first, as_of = conn.execute(
        "SELECT min(period) FILTER (WHERE period_type = 'week'), max(computed_at) FROM indicator_values").fetchall()[0]
    return Span(None if first is None else bounds("week", first)[0], as_of)


def load_for_period(path: Path, period: Period, *, refresh: bool = False, k: int | None = None,
                    team: str | None = None) -> Loaded:
    """The rows the report of ``period`` needs, computed and stored first if they were not;
    ``team`` is checked against the stored teams first (:class:`UnknownTeam`)."""
    types = needed_types(period, ["week"])
    if not refresh:
        with open_warehouse(path, write=False) as conn:
            if has_table(conn, "indicator_values"):
                check_team(conn, team)
            if (has_table(conn, "indicator_values") and not uncovered(conn, period, types)
                    and (k is None or stored_release(conn).k == k)):
                return Loaded(load_values(conn, needed_periods(period)), False, period_epsilons(conn),
                              collection_span(conn))
    with open_warehouse(path, write=True) as conn:
        computed = ensure_stored(conn, period, types, k=k, refresh=refresh)
        check_team(conn, team)
        return Loaded(load_values(conn, needed_periods(period)), computed, period_epsilons(conn),
                      collection_span(conn))


def write_report(path: Path, period_label: str, out: Path, *, team: str | None = None,
                 refresh: bool = False, k: int | None = None) -> tuple[Path, Report, bool]:
    """Render the report of ``period_label`` from the warehouse at ``path`` into ``out``."""
    period = parse_period(period_label)
    loaded = load_for_period(path, period, refresh=refresh, k=k, team=team)
    report = Report(loaded.frame, period, team, epsilons=loaded.epsilons, span=loaded.span)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(), encoding="utf-8")
    return out, report, loaded.computed

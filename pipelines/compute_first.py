"""Compute first, then read: what a command runs before a reader when the stored indicators
do not yet hold what it reads.

The readers — the report (:mod:`autoscope.pipelines.report.build`), the export
(:mod:`autoscope.pipelines.export`) and the dashboard (:mod:`autoscope.pipelines.dashboard`) —
never call the indicator job: reads never write. The command handlers compose the two steps
explicitly (``pipelines/report/commands.py``): ``autoscope report`` calls
:func:`ensure_for_read` and then renders; ``autoscope export`` hands :func:`ensure_stored` to
the export, which calls it after authorizing and auditing the request (so an unauthorized
request computes nothing, and a refusal is in the audit log); ``autoscope dashboard`` hands
the job's in-memory :func:`~autoscope.pipelines.jobs.compute_indicators` to the dashboard for
its live view. The README's command table says which commands compute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from autoscope.pipelines import team_classes
from autoscope.pipelines.jobs import run
from autoscope.pipelines.report.build import (
    KTooLow,
    PeriodUnavailable,
    check_team,
    open_warehouse,
)
from autoscope.pipelines.report.data import Period, has_table
from autoscope.pipelines.report.stored import (
    event_span,
    has_events_in,
    needed_types,
    stored_release,
    uncovered,
)
from autoscope.warehouse.schema import migrate


def ensure_stored(
    conn: duckdb.DuckDBPyConnection,
    period: Period,
    period_types: Sequence[str],
    *,
    k: int | None = None,
    refresh: bool = False,
    classes: team_classes.TeamClasses | None = None,
) -> bool:
    """Make sure ``period`` and the ``period_types`` inside it are stored; True if computed now.

    ``classes`` (the configured team classes; None: the stored release's): classes other than
    the stored release's recompute the whole release with them, as a stricter k does.

    When they are not (or ``refresh``), the indicator job runs in full: an incremental run only
    recomputes quarters that received events since its last run, so it never fills in a period
    type that was not asked for before. It runs for *every* period type, not only the missing
    ones, because complementary suppression decides weeks, months and quarters together
    (:mod:`autoscope.pipelines.anonymize`): types released by separate runs could be differenced.
    It uses the stored release's k and epsilon, so computing a missing period never releases it
    with a weaker k or without the differential privacy of the rest. A ``k`` above the stored
    one is honoured at once (the whole release is recomputed with it, stored or not); one below
    is refused with :class:`KTooLow`.

    Raises :class:`~autoscope.pipelines.report.build.PeriodUnavailable` when the period has no
    events (checked before computing: nothing would come of it) or is still not covered after the
    run, and
    :class:`~autoscope.pipelines.privacy.BudgetExceeded` when the privacy budget refuses the run.
    """
    migrate(conn)
    release = stored_release(conn)
    if k is not None and release.k is not None and k != release.k:
        if k < release.k:
            raise KTooLow(
                f"refused: the stored release uses k={release.k}; a release with the smaller k={k} would show "
                f"cells the stored one suppresses (k can be raised, never lowered): use --k {release.k} or more"
            )
        refresh = True  # a stricter k: the whole release is recomputed with it (suppression is decided together)
    if classes is not None and tuple(sorted(classes)) != team_classes.stored(conn):
        refresh = True  # re-classified teams: every period is re-derived with the new classes
    if not refresh and not uncovered(conn, period, period_types):
        return False
    if not has_events_in(conn, period):
        span = event_span(conn)
        holds = (
            f"the warehouse holds events from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}"
            if span
            else "the warehouse holds no events yet"
        )
        raise PeriodUnavailable(
            f"refused: {period.label} ({period.start:%Y-%m-%d} to {period.end - dt.timedelta(days=1):%Y-%m-%d}) "
            f"has no events, so it has no indicators; {holds}"
        )
    run(
        conn,
        k=k if k is not None else release.k,
        full=True,
        epsilon=release.epsilon,
        budget=release.budget,
        classes=classes,
    )
    missing = uncovered(conn, period, period_types)
    if missing:
        raise PeriodUnavailable(
            f"refused: {period.label} has events, but the indicator job stored no rows for {' and '.join(missing)}"
        )
    return True


def ensure_for_read(
    path: Path,
    period: Period,
    *,
    refresh: bool = False,
    k: int | None = None,
    team: str | None = None,
    classes: team_classes.TeamClasses | None = None,
) -> bool:
    """Before the report of ``period`` reads: store what it reads (the period, the one before, the
    chart's weeks) unless it is stored already with the asked ``k``; True if computed now.

    ``team`` is checked against the stored teams first (:class:`~autoscope.pipelines.report.build.UnknownTeam`),
    so a typo computes nothing. The warehouse is opened read-only to look, and for writing only
    when something must be computed.
    """
    types = needed_types(period, ["week"])
    if not refresh:
        with open_warehouse(path, write=False) as conn:
            if has_table(conn, "indicator_values"):
                check_team(conn, team)
            if (
                has_table(conn, "indicator_values")
                and not uncovered(conn, period, types)
                and (k is None or stored_release(conn).k == k)
                and (classes is None or tuple(sorted(classes)) == team_classes.stored(conn))
            ):
                return False
    with open_warehouse(path, write=True) as conn:
        computed = ensure_stored(conn, period, types, k=k, refresh=refresh, classes=classes)
        check_team(conn, team)
        return computed

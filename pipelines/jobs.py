"""The indicator job: compute every indicator, anonymize, store in ``indicator_values``.

* :func:`compute_indicators` reads only: every indicator for the requested period types
  (default week, month and quarter) and all their periods, k-anonymized (with complementary
  suppression across every cut and period of the result) and with the derived rows (change of
  the task mix and of the capital share, compute-multiplier trend, doubling time of the 50 %
  horizon).
* :func:`run_indicators` is the incremental, idempotent job. It finds the periods that received
  events since the last run — the events whose ``event_ids.ingested_at`` is past the newest
  ``indicator_periods.ingested_through`` mark, placed in their periods (a review in the period
  of the task it reviews) — and recomputes exactly the *quarters* holding them, with every
  month and week of those quarters (complementary suppression ties weeks to months and months
  to quarters, so a group is decided whole), plus the quarter after each (its first week's
  change depends on the last week before it). A week with events straddling a quarter end is
  a part of a month on each side, so the quarters it joins are recomputed together, and so on
  along such a chain. Indicators over small tables (model
  deployments, training milestones) are recomputed in full. Rows are replaced per
  (indicator, metric, period type, period) in one transaction together with the marks, the
  bootstrap replicates and (under DP) the epsilon ledger, so a rerun with no new events
  changes nothing and a crash leaves the previous state. A change of k or epsilon, or
  ``full=True``, recomputes everything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator, Sequence

import duckdb
import polars as pl

from autoscope.pipelines import privacy, team_classes
from autoscope.pipelines.anonymize import CELL_KEY, apply_k_threshold, resolve_k
from autoscope.pipelines.indicators import (
    automation_share,
    capital_share,
    compute_multiplier,
    tasks_involved,
    time_horizon,
)
from autoscope.pipelines.indicators.cells import Facts, Scope
from autoscope.pipelines.indicators.registry import REGISTRY
from autoscope.pipelines.periods import PERIOD_TYPES, bounds, label, parent

STORED_COLUMNS = [
    "indicator",
    "metric",
    "period_type",
    "period",
    "cut",
    "cut_value",
    "value",
    "n_events",
    "n_actors",
    "suppressed",
    "k",
    "computed_at",
    "ci_low",
    "ci_high",
    "noise_scale",
    "note",
    "suppression_reason",
]
_SCHEMA = {
    "indicator": pl.Utf8,
    "metric": pl.Utf8,
    "period_type": pl.Utf8,
    "period": pl.Utf8,
    "cut": pl.Utf8,
    "cut_value": pl.Utf8,
    "value": pl.Float64,
    "n_events": pl.Int64,
    "n_actors": pl.Int64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "noise_scale": pl.Float64,
    "note": pl.Utf8,
    "suppression_reason": pl.Utf8,
}
#: seconds per phase of the last :func:`_compute` (the benchmark's profile)
LAST_PROFILE: dict[str, float] = {}
DP_WITHHELD = "withheld under differential privacy (no DP mechanism for this statistic)"


def _normalize(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in _SCHEMA.items() if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(t) for c, t in _SCHEMA.items()])


@dataclasses.dataclass
class Computed:
    frame: pl.DataFrame
    replicates: dict
    scope: Scope
    full_indicators: tuple[str, ...]


def _compute(
    conn: duckdb.DuckDBPyConnection,
    k: int,
    scope: Scope,
    epsilon: float | None,
    history: pl.DataFrame | None = None,
    stored_replicates: dict | None = None,
) -> Computed:
    full = dataclasses.replace(scope, dirty=None)
    frames, replicates, full_names = [], {}, []
    started = time.perf_counter()
    profile: dict[str, float] = {}
    # The time horizon's bootstrap is Python/numpy work; the other indicators are DuckDB queries,
    # which run without the GIL. Fitting in a thread while the queries run overlaps the two.
    from concurrent.futures import ThreadPoolExecutor

    apart = [indicator for indicator in REGISTRY if indicator.bootstrapped]
    apart_conns = [conn.cursor() for _ in apart]  # its own connection object: one per thread

    def compute_apart(indicator, apart_conn):  # -> IndicatorRows
        with _timed(profile, f"{indicator.name} (in its thread)"):
            return indicator.compute(apart_conn, scope, k)

    with (
        ThreadPoolExecutor(max_workers=max(1, len(apart)), thread_name_prefix="indicator-apart") as pool,
        Facts(conn, scope) as facts,
    ):
        futures = [pool.submit(compute_apart, ind, c) for ind, c in zip(apart, apart_conns, strict=True)]
        for indicator in REGISTRY:
            this_scope = full if indicator.always_full else scope
            if this_scope is full and scope.dirty is not None:
                full_names.append(indicator.name)
            if indicator.bootstrapped:
                continue
            # the fine rows of the run's scope are shared (one scan per event table)
            source = facts if this_scope == scope else conn
            with _timed(profile, indicator.name):
                frames.append(_normalize(indicator.compute(source, this_scope, k).frame))
        for indicator, future in zip(apart, futures, strict=True):
            with _timed(profile, f"waiting for {indicator.name}"):
                rows = future.result()
            frames.append(_normalize(rows.frame))
            replicates.update(rows.replicates)
        profile.update({f"fine table {name}": v for name, v in facts.timings.items()})
    for apart_conn in apart_conns:
        apart_conn.close()
    cells = pl.concat(frames, how="vertical")
    if epsilon is not None:
        cells = _dp_cells(conn, cells, scope, epsilon)
    with _timed(profile, "anonymize"):
        released = apply_k_threshold(cells, k, release_shapes(), scope.team_classes)
    derived_started = time.perf_counter()
    history = history if history is not None else released.clear()
    derived = [
        tasks_involved.add_changes(released, history),
        capital_share.add_change(released, history),
        compute_multiplier.add_trend(released),
    ]
    # doubling time: every period's released h50, this run's or stored, with its replicates
    h50 = released.filter((pl.col("indicator") == time_horizon.NAME) & (pl.col("metric") == "h50_minutes"))
    old = history.filter((pl.col("indicator") == time_horizon.NAME) & (pl.col("metric") == "h50_minutes"))
    h50 = pl.concat([h50.select(old.columns), old.join(h50, on=CELL_KEY, how="anti")]) if old.height else h50
    all_reps = {**(stored_replicates or {}), **replicates}
    if epsilon is None and h50.height:
        doubling = time_horizon.doubling_times(h50, all_reps, time_horizon.actors_through(conn, scope.period_types))
        derived.append(
            _normalize(doubling).with_columns(suppressed=pl.lit(False)) if doubling.height else released.clear()
        )
    released = pl.concat([released, *[d.select(released.columns) for d in derived if d.height]], how="vertical")
    if epsilon is not None:
        released = released.with_columns(n_actors=pl.lit(None, pl.Int64))
    profile["derived rows"] = time.perf_counter() - derived_started
    profile["total"] = time.perf_counter() - started
    LAST_PROFILE.clear()
    LAST_PROFILE.update(profile)
    return Computed(released, replicates, scope, tuple(full_names))


@contextlib.contextmanager
def _timed(profile: dict[str, float], phase: str) -> Iterator[None]:
    """Record the seconds the block takes as ``profile[phase]`` (a run's :data:`LAST_PROFILE`)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        profile[phase] = time.perf_counter() - start


def release_shapes() -> pl.DataFrame:
    """(indicator, metric, cut) of every row an indicator releases where it has events
    (:meth:`~autoscope.pipelines.indicators.registry.Indicator.release_shape`)."""
    rows = [(indicator.name, metric, cut) for indicator in REGISTRY for metric, cut in indicator.release_shape()]
    return pl.DataFrame(rows, schema={"indicator": pl.Utf8, "metric": pl.Utf8, "cut": pl.Utf8}, orient="row")


def _dp_cells(conn: duckdb.DuckDBPyConnection, cells: pl.DataFrame, scope: Scope, epsilon: float) -> pl.DataFrame:
    """Under DP: automation share from noisy parts, every other value withheld."""
    noisy = [
        privacy.noisy_automation_share(conn, pt, None if scope.dirty is None else list(scope.wanted(pt)), epsilon)
        for pt in scope.period_types
    ]
    noisy = [_normalize(f) for f in noisy if f.height]
    others = cells.filter(pl.col("indicator") != automation_share.NAME).with_columns(
        value=pl.lit(None, pl.Float64),
        ci_low=pl.lit(None, pl.Float64),
        ci_high=pl.lit(None, pl.Float64),
        n_events=pl.lit(None, pl.Int64),
        note=pl.lit(DP_WITHHELD),
    )
    # suppression needs true actor counts; withheld rows keep them until after it
    keep = cells.filter(pl.col("indicator") != automation_share.NAME).select([*CELL_KEY, "metric", "n_actors"])
    others = others.drop("n_actors").join(keep, on=[*CELL_KEY, "metric"], how="left").select(cells.columns)
    return pl.concat([*noisy, others], how="vertical")


def _finish(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return (
        frame.with_columns(k=pl.lit(k, dtype=pl.Int32), computed_at=pl.lit(now))
        .select(STORED_COLUMNS)
        .sort(["indicator", "period_type", "period", "cut", "cut_value", "metric"])
    )


def compute_indicators(
    conn: duckdb.DuckDBPyConnection,
    k: int | None = None,
    period_types: Sequence[str] = PERIOD_TYPES,
    epsilon: float | None = None,
    classes: team_classes.TeamClasses | None = None,
) -> pl.DataFrame:
    """Every indicator for every period of ``period_types`` and every cut, anonymized; nothing is
    written. Suppression is always decided over all three period types (weeks, months and
    quarters difference against each other), then the rows of ``period_types`` are returned.
    ``classes``: the team classes (None: the stored release's, :func:`team_classes.stored`)."""
    k = resolve_k(k)
    classes = team_classes.stored(conn) if classes is None else tuple(classes)
    frame = _finish(_compute(conn, k, Scope(PERIOD_TYPES, team_classes=classes), epsilon).frame, k)
    return frame.filter(pl.col("period_type").is_in(list(period_types)))


# -- incremental job ---------------------------------------------------------------------------


def _state(conn: duckdb.DuckDBPyConnection) -> tuple[dt.datetime | None, set[int], set]:
    row = conn.execute(
        "SELECT max(ingested_through), list(DISTINCT k), list(DISTINCT epsilon) FROM indicator_periods"
    ).fetchall()[0]
    return row[0], set(row[1] or []), set(row[2] or [])


def dirty_quarters(conn: duckdb.DuckDBPyConnection, since: dt.datetime) -> set[str]:
    """Quarters holding events ingested after ``since`` (a review counts in its task's period too,
    a line_survival in its commit's, an incident in its task's or commit's, a permission in the periods
    of its holder's later tasks)."""
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    # the quarter of the day, and of the week's Thursday (a week belongs to that quarter's group)
    q = "CAST(year(d) AS VARCHAR) || '-Q' || CAST(quarter(d) AS VARCHAR)"
    parts = [f"SELECT x.occurred_at AS t FROM {table} x JOIN new USING (event_id)" for table in TABLE_BY_TYPE.values()]
    parts.append("SELECT k.occurred_at FROM reviews r JOIN new USING (event_id) JOIN tasks k USING (task_id)")
    # a commit's survival is measured after its period ended: it changes the commit's period
    parts.append(
        "SELECT c.occurred_at FROM line_survival s JOIN new USING (event_id)"
        " JOIN contributions c USING (contribution_id)"
    )
    # escaped errors are placed in the period of the work that introduced them (a cohort rate)
    parts.append(
        "SELECT k.occurred_at FROM incidents i JOIN new USING (event_id)"
        " JOIN tasks k ON k.task_id = i.introduced_by_task"
    )
    parts.append(
        "SELECT c.occurred_at FROM incidents i JOIN new USING (event_id)"
        " JOIN contributions c ON c.contribution_id = i.introduced_by_commit"
    )
    # a grant or revocation changes what every later task of its holder was done under, and a
    # session's grant what every task of that session was
    parts.append(
        "SELECT k.occurred_at FROM permissions p JOIN new USING (event_id)"
        " JOIN tasks k ON k.actor = p.actor AND k.occurred_at >= p.occurred_at"
    )
    parts.append(
        "SELECT k.occurred_at FROM permissions p JOIN new USING (event_id)"
        " JOIN agent_turn_facts f ON f.session_id = p.session_id JOIN tasks k ON k.task_id = f.turn_id"
    )
    parts.append("SELECT internal_at FROM model_deployments x JOIN new USING (event_id)")
    rows = conn.execute(
        f"""
        WITH new AS (SELECT event_id FROM event_ids WHERE ingested_at > ?)
        SELECT DISTINCT {q} FROM (SELECT DISTINCT t FROM ({" UNION ALL ".join(parts)}) WHERE t IS NOT NULL),
             LATERAL (SELECT unnest([t, date_trunc('week', t) + INTERVAL 3 DAY]) AS d)""",
        [since],
    ).fetchall()
    return {r[0] for r in rows}


def _weeks_with_events(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The ISO weeks holding at least one event (of any table the week-level cells come from)."""
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    times = [f"SELECT occurred_at AS t FROM {table}" for table in TABLE_BY_TYPE.values()]
    times.append("SELECT internal_at FROM model_deployments")
    # each week's Monday, labelled in Python: formatting every event's time as '%G-W%V' in SQL
    # cost ~1.2 s of CPU at 10 M events, the distinct Mondays ~0.2 s (the same weeks)
    rows = conn.execute(
        f"SELECT DISTINCT CAST(date_trunc('week', t) AS DATE) FROM ({' UNION ALL '.join(times)}) WHERE t IS NOT NULL"
    ).fetchall()
    return {label("week", r[0]) for r in rows}


def _next_quarter(qtr: str) -> str:
    return label("quarter", bounds("quarter", qtr)[1])


def _linked(quarters: set[str], weeks: set[str]) -> set[str]:
    """``quarters`` and every quarter tied to them through a chain of quarter ends straddled by
    a week with events: such a week is a part of a month on each side
    (:func:`autoscope.pipelines.anonymize.partitions`), so both quarters' groups are decided
    together, and a new event on one side can change what is hidden on the other."""
    out, todo = set(quarters), list(quarters)
    while todo:
        qtr = todo.pop()
        start, end = bounds("quarter", qtr)
        for edge, neighbour in ((start, label("quarter", start - dt.timedelta(days=1))), (end, label("quarter", end))):
            week = label("week", edge - dt.timedelta(days=1))
            if week == label("week", edge) and week in weeks and neighbour not in out:
                out.add(neighbour)
                todo.append(neighbour)
    return out


def _scope_for_quarters(conn: duckdb.DuckDBPyConnection, quarters: set[str], period_types: Sequence[str]) -> Scope:
    """Every period of ``period_types`` overlapping the quarters, the quarters linked to them
    (:func:`_linked`), the quarter after each of those, and the quarters linked to that one."""
    weeks = _weeks_with_events(conn)
    # the quarter after: its first week's change depends on the last week before it, which
    # can change with the quarter's own events or with what a linked quarter made it hide
    linked = _linked(quarters, weeks)
    wanted = _linked(linked | {_next_quarter(q) for q in linked}, weeks)
    dirty: dict[str, set[str]] = {pt: set() for pt in period_types}
    for qtr in wanted:
        start, end = bounds("quarter", qtr)
        day = start - dt.timedelta(days=7)
        while day < end + dt.timedelta(days=7):
            for pt in period_types:
                lab = label(pt, day)
                # a week belongs to the quarter of its month-by-Thursday (the suppression group)
                top = (
                    lab
                    if pt == "quarter"
                    else (parent(pt, lab)[1] if pt == "month" else parent("month", parent(pt, lab)[1])[1])
                )
                if top == qtr:
                    dirty[pt].add(lab)
            day += dt.timedelta(days=1)
    return Scope(tuple(period_types), {pt: tuple(sorted(v)) for pt, v in dirty.items()})


def _history(conn: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, dict]:
    cursor = conn.cursor()
    try:
        hist = pl.from_arrow(
            cursor.sql(
                f"SELECT {', '.join(STORED_COLUMNS)} FROM indicator_values WHERE indicator IN "
                f"('{tasks_involved.NAME}', '{time_horizon.NAME}', '{capital_share.NAME}')"
            ).to_arrow_table()
        )
        reps = cursor.execute(
            "SELECT period_type, period, cut, cut_value, log2_h50 FROM time_horizon_replicates"
        ).fetchall()
    finally:
        cursor.close()
    import numpy as np

    return hist.drop(["k", "computed_at"]), {(a, b, c, d): np.array(e, dtype=float) for a, b, c, d, e in reps}


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run did: ``frame`` the rows it stored (empty when nothing had changed)."""

    frame: pl.DataFrame
    full: bool
    periods: dict[str, tuple[str, ...]]


def run(
    conn: duckdb.DuckDBPyConnection,
    k: int | None = None,
    *,
    full: bool = False,
    epsilon: float | None = None,
    budget: float | None = None,
    classes: team_classes.TeamClasses | None = None,
) -> RunResult:
    """Recompute what changed since the last run (or everything), anonymize and store.

    ``classes``: the team classes to cut by (team → class pairs); None keeps the stored
    release's. Classes other than the stored release's recompute everything: the mapping is
    applied at compute time, so re-classifying a team re-derives its history.

    Every run covers weeks, months and quarters together: their cells difference against each
    other, so they are suppressed (and stored) as one release, never one period type alone.
    ``epsilon`` releases under differential privacy against ``budget`` (default: the budget in
    force, :data:`~autoscope.pipelines.privacy.DEFAULT_BUDGET` for the first DP release)."""
    k = resolve_k(k)
    period_types = PERIOD_TYPES
    privacy.require_dp(conn, epsilon)
    if budget is None:
        budget = privacy.budget_in_force(conn) or privacy.DEFAULT_BUDGET
    high_water = conn.execute("SELECT max(ingested_at) FROM event_ids").fetchall()[0][0]
    last, ks, epsilons = _state(conn)
    stored_classes = team_classes.stored(conn)
    classes = stored_classes if classes is None else tuple(sorted(classes))
    full = full or last is None or ks != {k} or epsilons != {epsilon} or classes != stored_classes
    if full:
        scope = Scope(tuple(period_types), team_classes=classes)
        history, stored_reps = None, {}
    else:
        quarters = dirty_quarters(conn, last)
        if not quarters:
            return RunResult(
                _finish(pl.DataFrame(schema=_SCHEMA).with_columns(suppressed=pl.lit(None, pl.Boolean)), k), False, {}
            )
        scope = dataclasses.replace(_scope_for_quarters(conn, quarters, period_types), team_classes=classes)
        history, stored_reps = _history(conn)
    computed = _compute(conn, k, scope, epsilon, history, stored_reps)
    frame = _finish(computed.frame, k)
    # the periods recomputed from events (not the always-full indicators, not the doubling time,
    # which is re-derived for every period from stored fits)
    periods = (
        frame.filter(
            pl.col("indicator").is_in([i.name for i in REGISTRY if not i.always_full])
            & (pl.col("metric") != "doubling_time_days")
        )
        .select(["period_type", "period"])
        .unique()
        .sort(["period_type", "period"])
    )
    period_list = list(periods.iter_rows())
    ledger = None
    if epsilon is not None:
        privacy.check_budget(conn, period_list, epsilon, budget)
        ledger = privacy.ledger_rows(period_list, epsilon, budget, automation_share.NAME)
    types = tuple(period_types)
    _store(conn, frame, computed.replicates, period_list, high_water, k, epsilon, full, ledger, types, classes)
    return RunResult(frame, full, {pt: tuple(p for t, p in period_list if t == pt) for pt in period_types})


def _store(conn, frame, replicates, periods, high_water, k, epsilon, full, ledger, period_types, classes=None) -> None:
    import pyarrow as pa

    cursor = conn.cursor()
    try:
        cursor.register("new_cells", frame.to_arrow())
        reps = pa.table(
            {
                "period_type": [key[0] for key in replicates],
                "period": [key[1] for key in replicates],
                "cut": [key[2] for key in replicates],
                "cut_value": [key[3] for key in replicates],
                "log2_h50": [list(map(float, v)) for v in replicates.values()],
            },
            schema=pa.schema(
                [
                    ("period_type", pa.string()),
                    ("period", pa.string()),
                    ("cut", pa.string()),
                    ("cut_value", pa.string()),
                    ("log2_h50", pa.list_(pa.float64())),
                ]
            ),
        )
        cursor.register("new_reps", reps)
        marks = pa.table(
            {"period_type": [p[0] for p in periods], "period": [p[1] for p in periods]},
            schema=pa.schema([("period_type", pa.string()), ("period", pa.string())]),
        )
        cursor.register("new_marks", marks)
        types = ", ".join(f"'{pt}'" for pt in period_types)
        cursor.execute("BEGIN TRANSACTION")
        try:
            if full:
                cursor.execute(f"DELETE FROM indicator_values WHERE period_type IN ({types})")
                cursor.execute(f"DELETE FROM time_horizon_replicates WHERE period_type IN ({types})")
                cursor.execute(f"DELETE FROM indicator_periods WHERE period_type IN ({types})")
            cursor.execute("""DELETE FROM indicator_values AS v USING
                   (SELECT DISTINCT indicator, metric, period_type, period FROM new_cells) AS n
                   WHERE v.indicator = n.indicator AND v.metric = n.metric
                     AND v.period_type = n.period_type AND v.period = n.period""")
            columns = ", ".join(STORED_COLUMNS)
            cursor.execute(f"INSERT INTO indicator_values ({columns}) SELECT {columns} FROM new_cells")
            cursor.execute("""DELETE FROM time_horizon_replicates AS v USING new_reps AS n
                   WHERE v.period_type = n.period_type AND v.period = n.period
                     AND v.cut = n.cut AND v.cut_value = n.cut_value""")
            cursor.execute("INSERT INTO time_horizon_replicates SELECT * FROM new_reps")
            cursor.execute("""DELETE FROM indicator_periods AS v USING new_marks AS n
                   WHERE v.period_type = n.period_type AND v.period = n.period""")
            cursor.execute(
                "INSERT INTO indicator_periods SELECT period_type, period, ?, ?, ?, now()::TIMESTAMP FROM new_marks",
                [high_water, k, epsilon],
            )
            # the newest mark is the run's high-water mark even when no period row carries it
            cursor.execute(
                "UPDATE indicator_periods SET ingested_through = ?"
                " WHERE ingested_through IS NULL OR ingested_through < ?",
                [high_water, high_water],
            ) if high_water is not None else None
            if classes is not None:  # the mapping this release was computed with (export manifest)
                team_classes.store(cursor, classes)
            if ledger is not None:
                cursor.register("new_ledger", ledger.to_arrow())
                cursor.execute("INSERT INTO dp_ledger SELECT * FROM new_ledger")
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    finally:
        cursor.close()


def store_indicators(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Replace the stored rows of the frame's (indicator, metric, period type, period)s."""
    _store(conn, frame, {}, [], None, int(frame["k"][0]) if frame.height else 5, None, False, None, PERIOD_TYPES)
    return frame.height


def run_indicators(
    conn: duckdb.DuckDBPyConnection,
    k: int | None = None,
    period_types: Sequence[str] = PERIOD_TYPES,
    **kwargs,
) -> pl.DataFrame:
    """Compute (incrementally), anonymize and store; returns every stored row of ``period_types``."""
    run(conn, k, **kwargs)
    cursor = conn.cursor()
    try:
        types = ", ".join(f"'{pt}'" for pt in period_types)
        return pl.from_arrow(
            cursor.sql(
                f"SELECT {', '.join(STORED_COLUMNS)} FROM indicator_values WHERE period_type IN ({types})"
                " ORDER BY indicator, period_type, period, cut, cut_value, metric"
            ).to_arrow_table()
        )
    finally:
        cursor.close()

"""Aggregate a source relation into indicator cells for every period type and cut in ONE query.

A *cell* is one (period type, period, cut, cut value). Every period type's label is computed per
row and the lab-wide cut and each per-column cut of each period type are grouping sets of the
same GROUP BY, and the result comes back long: one row per metric.

:class:`Scope` says which period types and (for incremental runs) which periods to compute: a
row whose period is not wanted gets a NULL label for that period type, so a month that is not
being recomputed never receives a partial aggregate.

:class:`Facts`: the indicators do not scan the events once each. Each event table is scanned
once per run into *fine* rows — one per (piece, cut columns), a *piece* being the part of an
ISO week that lies in one calendar month (weeks and months are both unions of pieces, quarters
of months) — holding additive aggregates (counts, sums) and the set of contributing actors as a
bitstring over a dense numbering of the actors' hashes (``bit_or`` of two sets is their union,
``bit_count`` its size: exactly ``count(DISTINCT hash(actor))``). Every indicator's cells are
then grouping sets over those few thousand fine rows (:func:`cells` with the fine table as its
source), the tasks table feeding automation share, task size, the ladder, tasks involved and
spend's active researchers in one scan. A DISTINCT aggregate in grouping sets made DuckDB
re-read the source once per grouping set and aggregate; the bitstrings make it one pass.
Memory: one bitstring of (actors / 8) bytes per fine row and actor set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence

import duckdb
import polars as pl

from autoscope.pipelines import team_classes
from autoscope.pipelines.periods import PERIOD_TYPES, bounds, period_sql

CELL_COLUMNS = ["indicator", "metric", "period_type", "period", "cut", "cut_value", "value", "n_events", "n_actors"]
CELL_SCHEMA = {c: pl.Float64 if c == "value" else (pl.Int64 if c.startswith("n_") else pl.Utf8) for c in CELL_COLUMNS}


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a run computes: every period of ``period_types`` (``dirty`` None), or only the listed
    periods per type; and the team classes (team → class pairs,
    :mod:`autoscope.pipelines.team_classes`) every ``team`` cut is also summed into, as the
    ``team_class`` cut (none configured: no such cut)."""

    period_types: tuple[str, ...] = PERIOD_TYPES
    dirty: Mapping[str, tuple[str, ...]] | None = None
    team_classes: team_classes.TeamClasses = ()

    def cuts_for(self, cuts: Sequence[str]) -> tuple[str, ...]:
        """``cuts`` with ``team_class`` after ``team`` when classes are configured: every
        indicator cut by team is cut by class, without listing it."""
        cuts = tuple(cuts)
        if not self.team_classes or "team" not in cuts or team_classes.CUT in cuts:
            return cuts
        at = cuts.index("team") + 1
        return (*cuts[:at], team_classes.CUT, *cuts[at:])

    def with_class_column(self, source_sql: str, cuts: Sequence[str]) -> str:
        """``source_sql`` with a ``team_class`` column (its ``team``'s class) when ``cuts`` has it."""
        if team_classes.CUT not in cuts:
            return source_sql
        return f"SELECT *, {team_classes.class_sql(self.team_classes)} AS {team_classes.CUT} FROM ({source_sql}) AS c"

    def wanted(self, period_type: str) -> tuple[str, ...] | None:
        return None if self.dirty is None else tuple(self.dirty.get(period_type, ()))

    def label_sql(self, period_type: str, column: str, truncated: bool = False) -> str:
        """The period label, NULL for a period this run does not compute; ``truncated``: the
        period's first instant as a TIMESTAMP (cheaper to group by than a string)."""
        expr = f"date_trunc('{period_type}', {column})" if truncated else period_sql(period_type, column)
        wanted = self.wanted(period_type)
        if wanted is None:
            return expr
        if not wanted:
            return "CAST(NULL AS TIMESTAMP)" if truncated else "CAST(NULL AS VARCHAR)"
        if truncated:
            listed = ", ".join(f"TIMESTAMP '{bounds(period_type, p)[0].isoformat(sep=' ')}'" for p in wanted)
        else:
            listed = ", ".join(f"'{p}'" for p in wanted)
        return f"CASE WHEN {expr} IN ({listed}) THEN {expr} END"

    def since_sql(self, column: str) -> str:
        """A cheap lower bound on ``column`` (prunes the scan), TRUE when everything is wanted."""
        if self.dirty is None:
            return "TRUE"
        starts = [bounds(pt, p)[0] for pt in self.period_types for p in self.wanted(pt) or ()]
        if not starts:
            return "FALSE"
        return f"{column} >= TIMESTAMP '{min(starts).isoformat(sep=' ')}'"

    def is_empty(self) -> bool:
        return self.dirty is not None and not any(self.wanted(pt) for pt in self.period_types)


def labelled(scope: Scope, source_sql: str, time_col: str = "ts", truncated: bool = False) -> str:
    """``source_sql`` with one label column ``p_<type>`` per period type, pruned to the scope."""
    labels = ", ".join(f"{scope.label_sql(pt, time_col, truncated)} AS p_{pt}" for pt in scope.period_types)
    return f"SELECT *, {labels} FROM ({source_sql}) AS s WHERE {scope.since_sql(time_col)}"


def cells(
    conn: duckdb.DuckDBPyConnection,
    *,
    indicator: str,
    scope: Scope,
    source_sql: str,
    metrics: Mapping[str, str],
    cuts: Sequence[str] = ("team",),
    n_events_sql: str = "count(*)",
    n_actors_sql: str = "count(DISTINCT hash(actor))",
    time_col: str = "ts",
    wide: bool = False,
    metric_type: str = "DOUBLE",
) -> pl.DataFrame:
    """Run the grouped query and return long-format cells (before anonymization).

    Parameters:
        source_sql: a SELECT yielding ``time_col`` (the TIMESTAMP that places a row in its
            periods), ``actor``, the cut columns and whatever the metric expressions use.
        metrics: metric name → aggregate SQL expression.
        cuts: columns to cut by besides the lab-wide total; ``team`` brings ``team_class``
            with it when the scope has team classes (:meth:`Scope.cuts_for`).
        n_events_sql, n_actors_sql: the sample-size aggregates (what counts as an event and
            as a contributing actor of this indicator). Actors are counted by their 64-bit
            hash, which is much cheaper than comparing pseudonyms; a collision could only
            merge two actors, i.e. undercount, which errs towards suppressing.
        wide: return one row per cell with a column per metric (not yet long).
        metric_type: the SQL type the metrics are cast to.

    ``conn``: a connection (the query gets a cursor of its own), or a :class:`Facts`, whose
    connection runs it (its fine tables are temp tables, visible only there).
    """
    if scope.is_empty():
        return pl.DataFrame(schema=CELL_SCHEMA)
    cuts = scope.cuts_for(cuts)
    source_sql = scope.with_class_column(source_sql, cuts)
    sets, type_case, period_case, period_coalesce = [], [], [], []
    for pt in scope.period_types:
        sets += [f"(p_{pt})", *(f"(p_{pt}, {c})" for c in cuts)]
        type_case.append(f"WHEN GROUPING(p_{pt}) = 0 THEN '{pt}'")
        period_case.append(f"WHEN GROUPING(p_{pt}) = 0 THEN {period_sql(pt, f'p_{pt}')}")
        period_coalesce.append(f"p_{pt}")
    cut_name = (
        "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN '{c}'" for c in cuts) + " ELSE 'lab' END" if cuts else "'lab'"
    )
    cut_value = f"CAST(COALESCE({', '.join(cuts)}, 'all') AS VARCHAR)" if cuts else "'all'"
    metric_sql = ", ".join(f'CAST({expr} AS {metric_type}) AS "{name}"' for name, expr in metrics.items())
    any_label = " OR ".join(f"p_{pt} IS NOT NULL" for pt in scope.period_types)
    query = f"""
        SELECT CASE {" ".join(type_case)} END AS period_type,
               CASE {" ".join(period_case)} END AS period,
               {cut_name} AS cut, {cut_value} AS cut_value,
               CAST({n_events_sql} AS BIGINT) AS n_events, CAST({n_actors_sql} AS BIGINT) AS n_actors, {metric_sql}
        FROM ({labelled(scope, source_sql, time_col, truncated=True)}) AS source
        WHERE {any_label}
        GROUP BY GROUPING SETS ({", ".join(sets)})
        HAVING COALESCE({", ".join(period_coalesce)}) IS NOT NULL
    """
    if wide:
        return run_wide(conn, query)
    return run_long(conn, query, indicator, list(metrics))


def run_wide(conn: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    """The query's result as a polars frame (on ``conn`` itself if it is a Facts connection)."""
    if isinstance(conn, Facts):
        return pl.from_arrow(conn.conn.sql(query).to_arrow_table())
    cursor = conn.cursor()
    try:
        return pl.from_arrow(cursor.sql(query).to_arrow_table())
    finally:
        cursor.close()


def run_long(conn: duckdb.DuckDBPyConnection, query: str, indicator: str, metrics: list[str]) -> pl.DataFrame:
    """Run a query yielding period_type, period, cut, cut_value, n_events, n_actors and one
    column per metric; return it long (one row per metric)."""
    return to_long(run_wide(conn, query), indicator, metrics)


def to_long(wide: pl.DataFrame, indicator: str, metrics: list[str]) -> pl.DataFrame:
    """A wide cell frame (period_type, period, cut, cut_value, n_events, n_actors, one column
    per metric) as long cells: one row per metric."""
    if wide.is_empty():
        return pl.DataFrame(schema=CELL_SCHEMA)
    long = wide.unpivot(
        index=["period_type", "period", "cut", "cut_value", "n_events", "n_actors"],
        on=metrics,
        variable_name="metric",
        value_name="value",
    )
    return long.with_columns(
        indicator=pl.lit(indicator),
        value=pl.col("value").cast(pl.Float64),
        n_events=pl.col("n_events").cast(pl.Int64),
        n_actors=pl.col("n_actors").cast(pl.Int64),
    ).select(CELL_COLUMNS)


# -- fine rows shared by the indicators of a run ------------------------------------------------

#: the piece of a TIMESTAMP: the part of its ISO week inside its month, named by its first
#: instant (date_trunc of it to week, month or quarter gives the event's own period)
PIECE = "greatest(date_trunc('week', {col}), date_trunc('month', {col}))"

#: actors that may share a set: everyone who appears in an event table (a reviewer too)
_ACTOR_COLUMNS = (
    ("tasks", "actor"),
    ("experiments", "actor"),
    ("contributions", "actor"),
    ("spend", "actor"),
    ("impressions", "actor"),
    ("reviews", "reviewer"),
    ("time_allocations", "actor"),
)

#: fine tables over one event table each: name → (table, cut columns, aggregates); ``{set}``
#: is the actor-set aggregate of the actors of the rows it is given
FINE: dict[str, tuple[str, tuple[str, ...], Mapping[str, str]]] = {
    "fx_tasks": (
        "tasks",
        ("team", "rung", "category"),
        {
            "n": "count(*)",
            "n_ai": "count(*) FILTER (WHERE executor = 'ai')",
            "n_mixed": "count(*) FILTER (WHERE executor = 'mixed')",
            "n_human": "count(*) FILTER (WHERE executor = 'human')",
            "minutes_ai_success": "sum(human_minutes) FILTER (WHERE executor = 'ai' AND outcome = 'success')",
            # tasks whose executor is unknown are counted (n) but left out of every share
            "n_known": "count(*) FILTER (WHERE executor <> 'unknown')",
            "n_unknown": "count(*) FILTER (WHERE executor = 'unknown')",
            "n_known_default_size": "count(*) FILTER (WHERE executor <> 'unknown' AND size_source = 'default')",
            "n_ai_default_size": "count(*) FILTER (WHERE executor = 'ai' AND size_source = 'default')",
            "minutes_completed": "sum(human_minutes) FILTER (WHERE outcome IN ('success', 'failure') "
            "AND executor <> 'unknown')",
            "n_ai_over_1h": "count(*) FILTER (WHERE executor = 'ai' AND human_minutes > 60)",
            "n_ai_over_8h": "count(*) FILTER (WHERE executor = 'ai' AND human_minutes > 480)",
            "n_ai_over_40h": "count(*) FILTER (WHERE executor = 'ai' AND human_minutes > 2400)",
            "actors": "{set}",
            "ai_actors": "{set} FILTER (WHERE executor = 'ai')",
        },
    ),
    "fx_experiments": (
        "experiments",
        ("team",),
        {
            "n": "count(*)",
            "hours": "sum(accelerator_hours)",
            "hours_ai": "sum(accelerator_hours) FILTER (WHERE designed_by = 'ai')",
            "hours_ai_or_mixed": "sum(accelerator_hours) FILTER (WHERE designed_by IN ('ai', 'mixed'))",
            "actors": "{set}",
        },
    ),
    # automation (CI, dependency and release bots) is neither a person nor AI: left out of n,
    # of the shares and of the actors counted for k, and counted on its own (issue 13)
    "fx_contributions": (
        "contributions",
        ("team",),
        {
            "n": "count(*) FILTER (WHERE first_author <> 'automation')",
            "n_ai_first": "count(*) FILTER (WHERE first_author = 'ai')",
            "ai_share_sum": "sum(ai_share) FILTER (WHERE first_author <> 'automation')",
            "n_automation": "count(*) FILTER (WHERE first_author = 'automation')",
            "actors": "{set} FILTER (WHERE first_author <> 'automation')",
        },
    ),
    "fx_spend": (
        "spend",
        ("team",),
        {
            "n": "count(*)",
            "amount": "sum(amount_usd)",
            **{
                f"amount_{c}": f"sum(amount_usd) FILTER (WHERE category = '{c}')"
                for c in ("ai_tools", "compute", "data", "staff", "other")
            },
            "actors": "{set}",
        },
    ),
    "fx_impressions": (
        "impressions",
        ("question_id AS question",),
        {
            "n": "count(*)",
            "score_sum": "sum(score)",
            "n_4_or_more": "count(*) FILTER (WHERE score >= 4)",
            "actors": "{set}",
        },
    ),
}


class Facts:
    """The fine tables of one run over one :class:`Scope`, built on first use, on a connection
    of their own (temp tables: dropped with it). Pass it as the ``conn`` of :func:`cells`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, scope: Scope) -> None:
        self.scope = scope
        self.conn = conn.cursor()
        self._built: set[str] = set()
        self._width: int | None = None
        #: seconds spent building each fine table (the profile of a run)
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Facts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build(self, name: str, sql: str) -> None:
        """Run ``sql`` (which creates the table ``name``), timing it."""
        start = time.perf_counter()
        self.conn.execute(sql)
        self.timings[name] = time.perf_counter() - start

    def actor_set(self, id_col: str = "aid") -> str:
        """The aggregate of the set of actors (their dense ids in ``id_col``) as a bitstring."""
        return f"bitstring_agg({id_col}, 0, {self.width - 1})"

    @property
    def width(self) -> int:
        """Bits of an actor set: the number of distinct actor hashes (at least 1)."""
        self.actors()
        return self._width

    def actors(self) -> str:
        """``fx_actor(h, aid)``: every actor hash → a dense id 0 … width − 1."""
        if "fx_actor" not in self._built:
            hashes = " UNION ".join(f"SELECT DISTINCT hash({col}) AS h FROM {table}" for table, col in _ACTOR_COLUMNS)
            self._build(
                "fx_actor",
                f"""CREATE OR REPLACE TEMP TABLE fx_actor AS
                SELECT h, CAST(row_number() OVER (ORDER BY h) - 1 AS INTEGER) AS aid FROM ({hashes})""",
            )
            self._width = max(1, self.conn.sql("SELECT count(*) FROM fx_actor").fetchall()[0][0])
            self._built.add("fx_actor")
        return "fx_actor"

    def table(self, name: str, build: str | None = None) -> str:
        """The fine table ``name`` (of :data:`FINE`, or created by the SELECT ``build``; in
        ``build``, ``{set}`` is :meth:`actor_set` and ``{actors}`` the actor table)."""
        if name in self._built:
            return name
        actors = self.actors()
        if build is None:
            table, cuts, aggregates = FINE[name]
            keys = ", ".join(cuts)
            aggs = ", ".join(f"{expr.format(set=self.actor_set())} AS {col}" for col, expr in aggregates.items())
            build = f"""SELECT {PIECE.format(col="occurred_at")} AS ts, {keys}, {aggs}
                FROM {table} JOIN {actors} ON {actors}.h = hash({table}.actor)
                WHERE {self.scope.since_sql("occurred_at")}
                GROUP BY ALL"""
        else:
            build = build.format(set=self.actor_set(), actors=actors)
        self._build(name, f"CREATE OR REPLACE TEMP TABLE {name} AS {build}")
        self._built.add(name)
        return name


@contextlib.contextmanager
def facts_for(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> Iterator[Facts]:
    """``conn`` itself if it is the :class:`Facts` of ``scope``, else new facts for this use."""
    if isinstance(conn, Facts) and conn.scope == scope:
        yield conn
        return
    base = conn.conn if isinstance(conn, Facts) else conn
    facts = Facts(base, scope)
    try:
        yield facts
    finally:
        facts.close()


def actors_of(column: str = "actors") -> str:
    """The distinct actors of a group of fine rows: the size of the union of their actor sets
    in ``column``."""
    return f"coalesce(bit_count(bit_or({column})), 0)"

"""Optional differential privacy: contribution bounding, Laplace noise (OpenDP), an epsilon ledger.

What is released under DP (``--epsilon``): the automation share (AI, mixed and human shares of
tasks, and the time-weighted AI share) per period and cut — the counts and sums it is made of
are noised, and each share is formed from the noisy parts. Every other indicator is withheld
under DP (its rows carry no value and the note "withheld under differential privacy"): medians,
logistic fits and their bootstraps have no mechanism here yet, and releasing them beside noisy
numbers would undo the protection.

Mechanism, per period type and period:

* contribution bounding: each actor's task events in a period are cut to at most
  :data:`MAX_EVENTS_PER_ACTOR` (kept by a hash of event_id, so the choice does not depend on the
  data), and human_minutes is clipped to [0, :data:`MINUTES_CAP`];
* six parts per cell — tasks, AI tasks, mixed tasks, human tasks, Σ minutes of successful AI
  tasks, Σ minutes of completed tasks — for each of the four cuts (lab, team, rung,
  category): 24 queries. Within one cut the cells are disjoint in events, so one actor
  changes the vector of a part's counts by at most m (L1) and its sums by at most m·U;
* the period's epsilon is split evenly over the 24 queries (sequential composition); each gets
  OpenDP's ``make_laplace`` on a vector with scale = sensitivity / ε_query, and the
  measurement's own privacy map is checked to give back ε_query;
* shares are noisy part / noisy total, clamped to [0, 1]; ``noise_scale`` holds the count scale.

Ledger (``dp_ledger``): a release spends ε on every period it covers. An event is in one week,
one month and one quarter, so what is spent on it is the sum over the ledger's periods that
contain its instant — 3ε after one release of all three period types, 6ε after two. The
budget bounds that sum for every instant (:func:`spent` is its maximum over a span), i.e. what
any one actor's contribution to any one period can lose in all; across periods it adds up, as
composition does. A release that would take some instant past the budget is refused with
:class:`BudgetExceeded` and nothing is stored. The budget is set by the first DP release (its
ledger rows record it) and can afterwards be lowered, never raised: a later run asking for more
is refused too. Once the ledger holds a release, every release must be a DP one
(:func:`require_dp`): an exact release beside noisy ones would undo them. The job writes the
ledger rows in the same transaction as the values.
"""

from __future__ import annotations

import datetime as dt
import uuid

import duckdb
import numpy as np
import polars as pl

from autoscope.pipelines.periods import bounds, period_sql

MAX_EVENTS_PER_ACTOR = 50
MINUTES_CAP = 2400.0
CUTS = ("team", "rung", "category")
PARTS = ("n", "ai", "mixed", "human", "tw_num", "tw_den")
DEFAULT_BUDGET = 10.0


class BudgetExceeded(RuntimeError):
    """A release would take some period past its epsilon budget (or asks for a larger budget, or
    for an exact release of a warehouse released under DP)."""


def _checked(epsilon_of_map: float, epsilon: float, what: str) -> None:
    """The measurement's own privacy map must give back the ε it was made for."""
    if not epsilon_of_map <= epsilon * (1 + 1e-6):
        raise RuntimeError(f"OpenDP's privacy map gives ε = {epsilon_of_map} for the {what} made for ε = {epsilon}")


def laplace(values: np.ndarray, sensitivity: float, epsilon: float, integer: bool) -> tuple[np.ndarray, float]:
    """``values`` plus Laplace noise through OpenDP; returns the noisy values and the scale."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    scale = sensitivity / epsilon
    if integer:
        space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
        meas = dp.m.make_laplace(*space, scale=scale)
        _checked(meas.map(int(sensitivity)), epsilon, "discrete Laplace")
        return np.asarray(meas([int(v) for v in values]), dtype=float), scale
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    meas = dp.m.make_laplace(*space, scale=scale)
    _checked(meas.map(float(sensitivity)), epsilon, "Laplace")
    return np.asarray(meas([float(v) for v in values]), dtype=float), scale


Span = tuple[dt.datetime, dt.datetime, float]  # [start, end) and the ε spent on it


def _ledger(conn: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> list[Span]:
    return conn.execute(
        "SELECT period_start, period_end, epsilon FROM dp_ledger WHERE period_start < ? AND period_end > ?",
        [end, start],
    ).fetchall()


def _peak(spans: list[Span], start: dt.datetime, end: dt.datetime) -> tuple[float, dt.datetime]:
    """The largest sum of ε over ``spans`` at one instant of [start, end), and that instant.
    The sum is a step function that only rises where a span starts: those are the candidates."""
    candidates = {start, *(s for s, _, _ in spans if start <= s < end)}
    return max(((sum(eps for s, e, eps in spans if s <= t < e), t) for t in candidates), key=lambda x: x[0])


def spent(conn: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> float:
    """The most ε already spent on the events of any one instant of [start, end)."""
    return _peak(_ledger(conn, start, end), start, end)[0]


def budget_in_force(conn: duckdb.DuckDBPyConnection) -> float | None:
    """The budget of the ledger: the smallest any release recorded (None before the first)."""
    return conn.execute("SELECT min(budget) FROM dp_ledger").fetchall()[0][0]


def require_dp(conn: duckdb.DuckDBPyConnection, epsilon: float | None) -> None:
    """Refuse an exact release (``epsilon`` None) of a warehouse that holds DP releases."""
    if epsilon is None and budget_in_force(conn) is not None:
        raise BudgetExceeded(
            "this warehouse releases under differential privacy (its ε ledger holds releases): an exact "
            "release beside them would undo the noise; pass --epsilon"
        )


def check_budget(
    conn: duckdb.DuckDBPyConnection, periods: list[tuple[str, str]], epsilon: float, budget: float
) -> None:
    """Refuse (:class:`BudgetExceeded`) when releasing ``periods`` at ``epsilon`` each would take
    the ε spent on some instant's events past the budget (module docstring), or when ``budget``
    is larger than the one in force."""
    in_force = budget_in_force(conn)
    if in_force is not None and budget > in_force + 1e-12:
        raise BudgetExceeded(
            f"the ε budget is {in_force:g} (set by the first DP release); it can be lowered, "
            f"not raised to {budget:g}; nothing was released"
        )
    release = [(*bounds(pt, p), epsilon) for pt, p in periods]
    for pt, p in periods:
        start, end = bounds(pt, p)
        total, instant = _peak(
            _ledger(conn, start, end) + [r for r in release if r[0] < end and r[1] > start], start, end
        )
        if total > budget + 1e-12:
            raise BudgetExceeded(
                f"releasing {pt} {p} would spend ε = {total:g} on the events of {instant:%Y-%m-%d} "
                f"(budget {budget:g}); nothing was released"
            )


def ledger_rows(periods: list[tuple[str, str]], epsilon: float, budget: float, indicators: str) -> pl.DataFrame:
    release = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(release, now, pt, p, *bounds(pt, p), epsilon, budget, indicators) for pt, p in periods]
    return pl.DataFrame(
        rows,
        schema={
            "release_id": pl.Utf8,
            "released_at": pl.Datetime("us"),
            "period_type": pl.Utf8,
            "period": pl.Utf8,
            "period_start": pl.Datetime("us"),
            "period_end": pl.Datetime("us"),
            "epsilon": pl.Float64,
            "budget": pl.Float64,
            "indicators": pl.Utf8,
        },
        orient="row",
    )


def noisy_automation_share(
    conn: duckdb.DuckDBPyConnection, period_type: str, periods: list[str] | None, epsilon: float
) -> pl.DataFrame:
    """The automation-share cells of ``period_type`` under ε-DP per period (see module doc)."""
    label = period_sql(period_type)
    where = "TRUE" if periods is None else f"{label} IN ({', '.join(repr(p) for p in periods) or 'NULL'})"
    grouping = ", ".join(["(period)", *(f"(period, {c})" for c in CUTS)])
    cut_name = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN '{c}'" for c in CUTS) + " ELSE 'lab' END"
    query = f"""
        WITH bounded AS (
            SELECT {label} AS period, actor, team, rung, category, executor, outcome,
                   least(greatest(human_minutes, 0), {MINUTES_CAP}) AS minutes,
                   row_number() OVER (PARTITION BY actor, {label} ORDER BY hash(event_id)) AS rn
            FROM tasks WHERE ({where}) AND executor <> 'unknown'  -- unknown: in no share
        )
        SELECT period, {cut_name} AS cut, CAST(COALESCE({", ".join(CUTS)}, 'all') AS VARCHAR) AS cut_value,
               count(DISTINCT actor) AS n_actors, count(*) AS n,
               count(*) FILTER (WHERE executor = 'ai') AS ai,
               count(*) FILTER (WHERE executor = 'mixed') AS mixed,
               count(*) FILTER (WHERE executor = 'human') AS human,
               coalesce(sum(minutes) FILTER (WHERE executor = 'ai' AND outcome = 'success'), 0) AS tw_num,
               coalesce(sum(minutes) FILTER (WHERE outcome IN ('success', 'failure')), 0) AS tw_den
        FROM bounded WHERE rn <= {MAX_EVENTS_PER_ACTOR}
        GROUP BY GROUPING SETS ({grouping})"""
    cursor = conn.cursor()
    try:
        wide = pl.from_arrow(cursor.sql(query).to_arrow_table())
    finally:
        cursor.close()
    if wide.is_empty():
        return pl.DataFrame()
    eps_query = epsilon / ((1 + len(CUTS)) * len(PARTS))
    noisy = {}
    scale_n = None
    for part in PARTS:
        integer = part not in ("tw_num", "tw_den")
        sensitivity = MAX_EVENTS_PER_ACTOR * (1 if integer else MINUTES_CAP)
        out = np.empty(wide.height)
        for cut in ("lab", *CUTS):  # one vector query per (cut, part)
            idx = np.nonzero((wide["cut"] == cut).to_numpy())[0]
            if len(idx):
                out[idx], scale = laplace(wide[part].to_numpy()[idx], sensitivity, eps_query, integer)
                if part == "n":
                    scale_n = scale
        noisy[part] = out
    n = np.maximum(noisy["n"], 1.0)

    def share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.clip(num / np.maximum(den, 1e-9), 0.0, 1.0)

    metrics = {
        "ai_share": share(noisy["ai"], n),
        "mixed_share": share(noisy["mixed"], n),
        "human_share": share(noisy["human"], n),
        "time_weighted_ai_share": share(noisy["tw_num"], noisy["tw_den"]),
    }
    frames = [
        wide.select(["period", "cut", "cut_value", "n_actors"]).with_columns(
            indicator=pl.lit("automation_share"),
            metric=pl.lit(m),
            period_type=pl.lit(period_type),
            value=pl.Series(v),
            n_events=pl.Series(np.round(noisy["n"]).astype(np.int64)),
            noise_scale=pl.lit(scale_n),
            note=pl.lit(f"ε-DP (ε = {epsilon:g} for the period)"),
        )
        for m, v in metrics.items()
    ]
    return pl.concat(frames).with_columns(n_actors=pl.col("n_actors").cast(pl.Int64))

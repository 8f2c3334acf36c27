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

Ledger (``dp_ledger``): a release spends ε on every period it covers; it is refused with
:class:`BudgetExceeded` — nothing stored, nothing noised — when any period it covers would, with
the ε already spent on periods overlapping it (a week, its month, its quarter), go past the
budget. The job writes the ledger rows in the same transaction as the values.
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
    """A release would take some period past its epsilon budget."""


def laplace(values: np.ndarray, sensitivity: float, epsilon: float, integer: bool) -> tuple[np.ndarray, float]:
    """``values`` plus Laplace noise through OpenDP; returns the noisy values and the scale."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    scale = sensitivity / epsilon
    if integer:
        space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
        meas = dp.m.make_laplace(*space, scale=scale)
        assert abs(meas.map(int(sensitivity)) - epsilon) <= 1e-9 * max(1.0, epsilon)
        return np.asarray(meas([int(v) for v in values]), dtype=float), scale
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    meas = dp.m.make_laplace(*space, scale=scale)
    assert meas.map(float(sensitivity)) <= epsilon * (1 + 1e-6)
    return np.asarray(meas([float(v) for v in values]), dtype=float), scale


def spent(conn: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> float:
    """Epsilon already spent on releases whose period overlaps [start, end)."""
    row = conn.execute("SELECT coalesce(sum(epsilon), 0) FROM dp_ledger WHERE period_start < ? AND period_end > ?",
                       [end, start]).fetchall()[0]
    return float(row[0])


def check_budget(conn: duckdb.DuckDBPyConnection, periods: list[tuple[str, str]], epsilon: float, budget: float) -> None:
    """Refuse (:class:`BudgetExceeded`) when releasing ``periods`` at ``epsilon`` each would
    take any of them past ``budget``, counting the other periods of this same release too."""
    spans = [(pt, p, *bounds(pt, p)) for pt, p in periods]
    for pt, p, start, end in spans:
        this_release = sum(epsilon for _, _, s, e in spans if s < end and e > start)
        total = spent(conn, start, end) + this_release
        if total > budget + 1e-12:
            raise BudgetExceeded(
                f"releasing {pt} {p} would spend ε = {total:g} on its events (budget {budget:g});"
                " nothing was released")


def ledger_rows(periods: list[tuple[str, str]], epsilon: float, budget: float, indicators: str) -> pl.DataFrame:
    release = str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [(release, now, pt, p, *bounds(pt, p), epsilon, budget, indicators) for pt, p in periods]
    return pl.DataFrame(rows, schema={"release_id": pl.Utf8, "released_at": pl.Datetime("us"), "period_type": pl.Utf8,
                                      "period": pl.Utf8, "period_start": pl.Datetime("us"), "period_end": pl.Datetime("us"),
                                      "epsilon": pl.Float64, "budget": pl.Float64, "indicators": pl.Utf8}, orient="row")


def noisy_automation_share(conn: duckdb.DuckDBPyConnection, period_type: str, periods: list[str] | None,
                           epsilon: float) -> pl.DataFrame:
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
            FROM tasks WHERE {where}
        )
        SELECT period, {cut_name} AS cut, CAST(COALESCE({', '.join(CUTS)}, 'all') AS VARCHAR) AS cut_value,
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
        "ai_share": share(noisy["ai"], n), "mixed_share": share(noisy["mixed"], n),
        "human_share": share(noisy["human"], n), "time_weighted_ai_share": share(noisy["tw_num"], noisy["tw_den"]),
    }
    frames = [
        wide.select(["period", "cut", "cut_value", "n_actors"]).with_columns(
            indicator=pl.lit("automation_share"), metric=pl.lit(m), period_type=pl.lit(period_type),
            value=pl.Series(v), n_events=pl.Series(np.round(noisy["n"]).astype(np.int64)),
            noise_scale=pl.lit(scale_n), note=pl.lit(f"ε-DP (ε = {epsilon:g} for the period)"),
        ) for m, v in metrics.items()
    ]
    return pl.concat(frames).with_columns(n_actors=pl.col("n_actors").cast(pl.Int64))

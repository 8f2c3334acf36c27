"""Time horizon (docs/indicators.md, issue 6), by METR's published method ("Time Horizon 1.1",
``eval-analysis-public``), so a lab's internal figure can be set beside METR's public ones.

Data: every *completed* AI attempt (a task event with executor ``ai`` and outcome ``success``
or ``failure``; an abandoned attempt has no outcome to score) is one row; x = log2(human_minutes),
y = 1 for success. A task is one task_id (its length is the mean of its attempts' log2 minutes;
they normally agree); its family is the task event's ``family``.

Fit (per period and cut), exactly as METR:

* weight of an attempt = 1 / (attempts of its task × √(tasks in its family)), then normalized
  to sum to 1 over the rows of the fit;
* scikit-learn ``LogisticRegression`` with its defaults and ``C = 10`` (METR's regularization
  0.1), fitted with those sample weights: it minimizes C·Σ w·logloss + ½·a² (slope a
  penalized, intercept b not). Rows with the same (x, y) are merged by adding their weights,
  which leaves that objective unchanged. For a fit of more than :data:`SKLEARN_ROWS` merged
  rows (a lab-wide quarter at scale), the same objective is minimized by Newton's method to
  convergence instead — sklearn's lbfgs costs ~30 passes over the rows and stops at its
  tolerance (1e-4), Newton ~5 passes and goes further; the two agree to sklearn's tolerance
  (tested);
* the q-horizon is 2^((ln(q/(1−q)) − b)/a), for q = 0.5 (``h50_minutes``) and 0.8
  (``h80_minutes``); the point estimate always comes from the full fit;
* a 95 % interval (``ci_low``, ``ci_high``: the 2.5th and 97.5th percentiles, taken as order
  statistics) from 1,000 hierarchical bootstrap replicates — families drawn with replacement,
  then tasks within each drawn family, then attempts within each drawn task — each refitted
  with the attempts' *original* weights (not renormalized), replicates whose outcomes are all
  alike skipped. A replicate with slope ≥ 0 has an unbounded horizon (+∞).

How the bootstrap is made fast without changing it: tasks that are exchangeable — same family,
same x, same number of attempts and successes — are one *type*; drawing N tasks of a family
with replacement is exactly a multinomial draw over its types, and drawing n attempts of t
drawn tasks with s/n successes is exactly one binomial draw of t·n attempts. All replicates are
then refitted at once by Newton's method on the same objective, vectorized over replicates and
started at the full fit. For a fit over more than :data:`EXACT_TASKS` tasks, x is rounded to
1/16 of a doubling (±2.2 % in minutes, well inside the precision of a human-minutes estimate) *in
the bootstrap only*, which bounds the number of types; the point estimate is never rounded.
The periods are fitted in parallel threads (each with its own seed, so the result does not
depend on which thread fits which period).

Not meaningful — value NULL and the reason in ``note``, never a number: fewer than
:data:`MIN_ATTEMPTS` attempts, one outcome only, or slope ≥ 0 (success does not fall with
length, so no horizon exists).

Across periods (:func:`doubling_times`): the doubling time of the 50 % horizon at period P is
1 / slope of an ordinary least-squares line through log2(h50) against the periods' midpoints
(days), over the released, meaningful periods up to P (at least 3). Its interval comes from
the same regression on each bootstrap replicate (periods are independent samples, so replicate
r of each period together form one draw); when the slope's interval reaches 0 or below, the
upper end is unbounded (NULL, said in ``note``).

Cut: lab only (a per-team fit over one week rarely has the attempts; the fit and bootstrap are
the cost centre). Contributing actors (for k): the distinct actors of the attempts.
"""

from __future__ import annotations

import math
import os
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, labelled
from autoscope.pipelines.periods import label, midpoint_days, period_sql

NAME = "time_horizon"
C = 10.0
REPLICATES = 1000
MIN_ATTEMPTS = 10
EXACT_TASKS = 1000
#: above this many merged rows the full fit is solved by :func:`newton` rather than sklearn
SKLEARN_ROWS = 20_000
#: periods fitted at once (threads; at most one per core)
FIT_THREADS = 4
GRID = 16
QUANTILES = {"h50_minutes": 0.5, "h80_minutes": 0.8}
#: (metric, cut) of the rows it releases: lab-wide fits only
SHAPE = tuple((metric, "lab") for metric in (*QUANTILES, "slope", "intercept"))
SEED = 20250319  # fixed: a rerun over the same data gives the same interval


def cell_seed(period_type: str, period: str) -> int:
    """The bootstrap seed of one period's fit: fixed for the cell (reruns agree), different
    across cells, so replicate r of two periods are independent draws when the doubling time
    pairs them."""
    return SEED ^ zlib.crc32(f"{period_type}|{period}".encode())


ROW_SCHEMA = {
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
    "note": pl.Utf8,
}


# -- the fit -------------------------------------------------------------------------------


def attempt_weights(n_attempts: np.ndarray, family: np.ndarray, count: np.ndarray | None = None) -> np.ndarray:
    """Per task, the weight of ONE of its attempts: 1/(attempts × √(tasks in family)), normalized
    so that the weights of all attempts sum to 1. ``count``: how many tasks each entry stands
    for (default one each)."""
    count = np.ones(len(n_attempts), dtype=np.int64) if count is None else count
    _, fam_idx = np.unique(family, return_inverse=True)
    fam_size = np.bincount(fam_idx, weights=count)
    w = 1.0 / (n_attempts * np.sqrt(fam_size[fam_idx]))
    return w / np.sum(w * n_attempts * count)


def fit_sklearn(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of scikit-learn's LogisticRegression(C=10) with sample weights."""
    from sklearn.linear_model import LogisticRegression

    # (its warnings are silenced by compute(), once around all fits: catch_warnings is not
    # thread-safe, and the fits run in several threads)
    model = LogisticRegression(C=C).fit(x.reshape(-1, 1), y, sample_weight=w)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _subsample(x: np.ndarray, y: np.ndarray, w: np.ndarray, n: int = 5000) -> tuple[np.ndarray, ...]:
    """Every k-th row (weights scaled to keep the total): a starting point for Newton only."""
    step = max(1, len(x) // n)
    return x[::step], y[::step], w[::step] * step


def horizon(a: np.ndarray | float, b: np.ndarray | float, q: float) -> np.ndarray | float:
    """2^((ln(q/(1−q)) − b)/a): the length at which the fitted success probability is q."""
    return np.power(2.0, (math.log(q / (1 - q)) - np.asarray(b)) / np.asarray(a))


def newton(
    x: np.ndarray, w1: np.ndarray, w0: np.ndarray, a0: float, b0: float, iters: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Minimize C·Σ [w1·log(1+e^−z) + w0·log(1+e^z)] + ½a², z = a·x + b, for every row of the
    (replicates × points) weight matrices w1 (successes) and w0 (failures) at once."""
    R = w1.shape[0]
    a = np.full(R, a0)
    b = np.full(R, b0)
    wt = w1 + w0
    x2 = x * x
    for _ in range(iters):
        z = a[:, None] * x + b[:, None]
        p = 1.0 / (1.0 + np.exp(-z))
        r = p * wt - w1
        h = p * (1 - p) * wt
        ga = C * (r @ x) + a
        gb = C * r.sum(1)
        haa = C * (h @ x2) + 1.0
        hab = C * (h @ x)
        hbb = C * h.sum(1) + 1e-12
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a -= da
        b -= db
        if np.nanmax(np.abs(da)) < 1e-10 and np.nanmax(np.abs(db)) < 1e-9:
            break
    return a, b


def bootstrap(
    family: np.ndarray,
    x: np.ndarray,
    n: np.ndarray,
    s: np.ndarray,
    w: np.ndarray,
    a0: float,
    b0: float,
    replicates: int = REPLICATES,
    seed: int = SEED,
    count: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts of the hierarchical bootstrap replicates (NaN: skipped, all alike).

    One entry per task (or, with ``count``, per ``count`` exchangeable tasks): its family, x,
    attempts n, successes s and per-attempt weight w.
    """
    rng = np.random.default_rng(seed)
    count = np.ones(len(x), dtype=np.int64) if count is None else count
    xb = x if int(count.sum()) <= EXACT_TASKS else np.round(x * GRID) / GRID
    # exchangeable tasks → one type: integer key (family, x, attempts, successes)
    fam_u, fam_c = np.unique(family, return_inverse=True)
    x_u, x_c = np.unique(xb, return_inverse=True)
    n_max = int(n.max()) + 1
    key = ((fam_c.astype(np.int64) * len(x_u) + x_c) * n_max + n) * n_max + s
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=count).astype(np.int64)
    t_fam, t_x, t_n, t_s, t_w = fam_c[first], xb[first], n[first], s[first], w[first]
    F = len(fam_u)
    fam_draws = rng.multinomial(F, np.full(F, 1.0 / F), size=replicates)  # (R, F)
    w1_parts, w0_parts, x_parts = [], [], []
    for j in range(F):
        sel = t_fam == j
        g = counts[sel]
        drawn = _draw_tasks(rng, fam_draws[:, j], g)  # (R, T_f) tasks of each type
        attempts = drawn * t_n[sel]
        multi = t_n[sel] > 1
        succ = drawn * t_s[sel]
        if multi.any():
            succ = succ.astype(np.int64)
            succ[:, multi] = rng.binomial(attempts[:, multi], (t_s[sel] / t_n[sel])[multi])
        w1_parts.append(succ * t_w[sel])
        w0_parts.append((attempts - succ) * t_w[sel])
        x_parts.append(t_x[sel])
    # the fit only sees (x, weight of successes, weight of failures): merge the types' columns by x
    xs_all = np.concatenate(x_parts)
    order = np.argsort(xs_all, kind="stable")
    xs, starts = np.unique(xs_all[order], return_index=True)
    w1 = np.add.reduceat(np.concatenate(w1_parts, axis=1)[:, order], starts, axis=1)
    w0 = np.add.reduceat(np.concatenate(w0_parts, axis=1)[:, order], starts, axis=1)
    a = np.full(replicates, np.nan)
    b = np.full(replicates, np.nan)
    ok = (w1.sum(1) > 0) & (w0.sum(1) > 0)
    for start in range(0, replicates, 250):
        idx = np.nonzero(ok[start : start + 250])[0] + start
        if len(idx):
            a[idx], b[idx] = newton(xs, w1[idx], w0[idx], a0, b0)
    return a, b


def _draw_tasks(rng: np.random.Generator, copies: np.ndarray, g: np.ndarray) -> np.ndarray:
    """For each replicate r, draw copies[r] × N tasks with replacement from a family of N tasks
    in types of sizes g; return how many of each type were drawn (R × types). Both branches
    draw from the same multinomial; the cheaper one is used."""
    N, T, R = int(g.sum()), len(g), len(copies)
    if N <= 8 * T:  # few tasks per type: draw the tasks themselves and count them
        total = copies * N
        reps = np.repeat(np.arange(R), total)
        tasks = rng.integers(0, N, size=int(total.sum()))
        types = np.repeat(np.arange(T), g)[tasks]
        return np.bincount(reps * T + types, minlength=R * T).reshape(R, T)
    return rng.multinomial(copies * N, g / N)


def replicate_horizons(a: np.ndarray, b: np.ndarray, q: float) -> np.ndarray:
    """Horizons of the replicates: NaN for skipped ones, +inf where the slope is ≥ 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = np.where(a < 0, horizon(a, b, q), np.inf)
    return np.where(np.isnan(a), np.nan, h)


def interval(values: np.ndarray) -> tuple[float | None, float | None]:
    """2.5th and 97.5th percentiles as order statistics, ignoring NaN; None for +inf."""
    v = np.sort(values[~np.isnan(values)])
    if len(v) == 0:
        return None, None
    lo = v[int(np.floor(0.025 * (len(v) - 1)))]
    hi = v[int(np.ceil(0.975 * (len(v) - 1)))]
    return (float(lo) if np.isfinite(lo) else None), (float(hi) if np.isfinite(hi) else None)


def fit_cell(
    family: np.ndarray,
    x: np.ndarray,
    n: np.ndarray,
    s: np.ndarray,
    replicates: int = REPLICATES,
    seed: int = SEED,
    count: np.ndarray | None = None,
) -> dict:
    """The full fit and bootstrap of one cell, from per-task arrays; with ``count``, each entry
    stands for that many tasks alike in (family, x, n, s) — the same fit and the same draws as
    the tasks listed one by one, from far shorter arrays."""
    count = np.ones(len(x), dtype=np.int64) if count is None else count
    attempts = int((n * count).sum())
    successes = int((s * count).sum())
    out: dict = {"attempts": attempts, "note": None, "a": None, "b": None, "log2_h50": None}
    if attempts < MIN_ATTEMPTS:
        out["note"] = f"not meaningful: {attempts} attempts (fewer than {MIN_ATTEMPTS})"
        return out
    if successes in (0, attempts):
        out["note"] = "not meaningful: one outcome only (all " + ("successes" if successes else "failures") + ")"
        return out
    w = attempt_weights(n, family, count)
    # merged rows: (x, success) and (x, failure) with summed weights
    ux, inv = np.unique(x, return_inverse=True)
    w1 = np.bincount(inv, weights=w * s * count, minlength=len(ux))
    w0 = np.bincount(inv, weights=w * (n - s) * count, minlength=len(ux))
    xs = np.concatenate([ux[w1 > 0], ux[w0 > 0]])
    ys = np.concatenate([np.ones(int((w1 > 0).sum())), np.zeros(int((w0 > 0).sum()))])
    ws = np.concatenate([w1[w1 > 0], w0[w0 > 0]])
    if len(xs) <= SKLEARN_ROWS:
        a, b = fit_sklearn(xs, ys, ws)
    else:  # the same objective, solved to convergence by Newton's method (see module doc)
        a0, b0 = fit_sklearn(*_subsample(xs, ys, ws))
        # Newton takes the merged rows by x: that is (ux, w1, w0) already — every x has an
        # attempt, so w1 or w0 is positive at each; re-deriving them from (xs, ys, ws) took
        # three sorts of the ~2×len(ux) rows and gave the same arrays bit for bit
        a_, b_ = newton(ux, w1[None, :], w0[None, :], a0, b0)
        a, b = float(a_[0]), float(b_[0])
    out["a"], out["b"] = a, b
    if a >= 0:
        out["note"] = "not meaningful: success does not fall with task length (slope ≥ 0)"
        return out
    ra, rb = bootstrap(family, x, n, s, w, a, b, replicates, seed, count)
    out["valid_replicates"] = int((~np.isnan(ra)).sum())
    for metric, q in QUANTILES.items():
        out[metric] = float(horizon(a, b, q))
        out[metric + "_ci"] = interval(replicate_horizons(ra, rb, q))
    out["log2_h50"] = np.log2(replicate_horizons(ra, rb, 0.5))
    return out


# -- the job -------------------------------------------------------------------------------

SOURCE = """SELECT occurred_at AS ts, actor, family, task_id, human_minutes, outcome = 'success' AS y
            FROM tasks WHERE executor = 'ai' AND outcome IN ('success', 'failure') AND human_minutes > 0"""


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> tuple[pl.DataFrame, dict]:
    """Rows of every (period, lab) cell in scope, and the 50 %-horizon replicates per cell.

    Tasks and families are identified by 64-bit hashes of task_id and family inside the job
    (cheaper to group than strings); a collision would merge two tasks or families, which
    with 64 bits and a lab's numbers of them does not happen in practice.
    """
    if scope.is_empty():
        return pl.DataFrame(schema=ROW_SCHEMA), {}
    # one row per (period, family, x, attempts, successes) with the number of such tasks: the
    # fit and the bootstrap treat those tasks as one type anyway, so per-task rows would only be
    # moved into Python and partitioned. Human-minutes estimates are mostly round numbers, so a
    # lab's tasks repeat their shape; where every x differs (the benchmark's synthetic data) it
    # saves nothing and costs nothing.
    # (the period as its type's index and first instant, labelled per period in Python:
    # millions of label strings are slow to move into polars and to partition by)
    parts = " UNION ALL ".join(
        f"""SELECT CAST({i} AS TINYINT) AS pt, p, fam, x, n, s, count(*) AS c FROM (
                SELECT p_{pt} AS p, tid, min(fam) AS fam, avg(x) AS x, count(*) AS n, count(*) FILTER (WHERE y) AS s
                FROM th_src WHERE p_{pt} IS NOT NULL GROUP BY p_{pt}, tid)
            GROUP BY ALL"""
        for i, pt in enumerate(scope.period_types)
    )
    sizes = " UNION ALL ".join(
        f"""SELECT '{pt}' AS period_type, {period_sql(pt, f"p_{pt}")} AS period, count(*) AS n_events,
                   count(DISTINCT a) AS n_actors
            FROM th_src WHERE p_{pt} IS NOT NULL GROUP BY p_{pt}"""
        for pt in scope.period_types
    )
    labels = ", ".join(f"p_{pt}" for pt in scope.period_types)
    cursor = conn.cursor()
    try:
        cursor.execute(f"""CREATE OR REPLACE TEMP TABLE th_src AS
            SELECT {labels}, hash(actor) AS a, hash(task_id) AS tid, hash(family) AS fam, log2(human_minutes) AS x, y
            FROM ({labelled(scope, SOURCE, truncated=True)})""")
        tasks = pl.from_arrow(cursor.sql(parts).to_arrow_table())
        counts = pl.from_arrow(cursor.sql(sizes).to_arrow_table())
        cursor.execute("DROP TABLE th_src")
    finally:
        cursor.close()
    rows, replicates = [], {}
    if tasks.is_empty():
        return pl.DataFrame(schema=ROW_SCHEMA), {}
    sizes_of = {(r[0], r[1]): (r[2], r[3]) for r in counts.iter_rows()}
    from threadpoolctl import threadpool_limits

    cells = sorted(
        ((scope.period_types[i], label(scope.period_types[i], start)), cell)
        for (i, start), cell in tasks.partition_by(["pt", "p"], as_dict=True).items()
    )
    # The periods' fits are independent (each has its own seed), and most of a fit's time is
    # numpy drawing and solving with the GIL released: fitting periods in parallel threads uses
    # the cores. Within a fit, the BLAS calls are small: a multi-threaded BLAS only adds hand-offs.
    workers = max(1, min(FIT_THREADS, os.cpu_count() or 1))
    with (
        threadpool_limits(limits=1),
        warnings.catch_warnings(),
        ThreadPoolExecutor(workers, thread_name_prefix="time-horizon-fit") as pool,
    ):
        warnings.simplefilter("ignore")  # sklearn's convergence chatter; the notes say what matters
        fitted = pool.map(lambda item: _fit(item[0][0], item[0][1], item[1], sizes_of), cells)
        for cell_rows, cell_replicates in fitted:  # in period order, whichever thread finished first
            rows += cell_rows
            replicates.update(cell_replicates)
    return pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row"), replicates


def _fit(pt: str, period: str, cell: pl.DataFrame, sizes_of: dict) -> tuple[list[dict], dict]:
    """The rows and the 50 %-horizon replicates of one period's fit."""
    rows: list[dict] = []
    replicates: dict = {}
    cell = cell.sort(["fam", "x", "n", "s"])  # a canonical order: the same data, the same draws
    fit = fit_cell(
        cell["fam"].to_numpy(),
        cell["x"].to_numpy(),
        cell["n"].to_numpy().astype(np.int64),
        cell["s"].to_numpy().astype(np.int64),
        seed=cell_seed(pt, period),
        count=cell["c"].to_numpy().astype(np.int64),
    )
    n_events, n_actors = sizes_of[(pt, period)]
    base = {
        "indicator": NAME,
        "period_type": pt,
        "period": period,
        "cut": "lab",
        "cut_value": "all",
        "n_events": n_events,
        "n_actors": n_actors,
    }
    for metric in (*QUANTILES, "slope", "intercept"):
        row = {**base, "metric": metric, "value": None, "ci_low": None, "ci_high": None, "note": fit["note"]}
        if metric in QUANTILES and metric in fit:
            row["value"] = fit[metric]
            row["ci_low"], row["ci_high"] = fit[metric + "_ci"]
            if row["ci_high"] is None:
                row["note"] = "interval unbounded above (some replicates show no decline with length)"
        elif metric == "slope" and fit["a"] is not None:
            row["value"] = fit["a"]
        elif metric == "intercept" and fit["b"] is not None:
            row["value"] = fit["b"]
        rows.append(row)
    if fit["log2_h50"] is not None:
        replicates[(pt, period, "lab", "all")] = fit["log2_h50"]
    return rows, replicates


def doubling_times(points: pl.DataFrame, replicates: dict, actors_through: dict) -> pl.DataFrame:
    """``doubling_time_days`` rows per period, from released, meaningful 50 % horizons.

    ``points``: rows of metric h50_minutes (period_type, period, cut, cut_value, value,
    n_events, suppressed); ``replicates``: (period_type, period, cut, cut_value) → log2 h50 of
    each replicate; ``actors_through``: (period_type, period) → distinct actors of AI attempts
    in that period and all before it.
    """
    usable = points.filter(~pl.col("suppressed") & pl.col("value").is_not_null() & (pl.col("cut") == "lab"))
    rows = []
    for (pt,), grp in usable.sort("period").group_by(["period_type"], maintain_order=True):
        periods = grp["period"].to_list()
        t = np.array([midpoint_days(pt, p) for p in periods])
        y = np.log2(grp["value"].to_numpy())
        n_ev = np.cumsum(grp["n_events"].to_numpy())
        reps = [replicates.get((pt, p, "lab", "all")) for p in periods]
        for i in range(2, len(periods)):
            tt, yy = t[: i + 1], y[: i + 1]
            slope = np.polyfit(tt, yy, 1)[0]
            row = {
                "indicator": NAME,
                "metric": "doubling_time_days",
                "period_type": pt,
                "period": periods[i],
                "cut": "lab",
                "cut_value": "all",
                "value": None,
                "n_events": int(n_ev[i]),
                "n_actors": actors_through.get((pt, periods[i])),
                "ci_low": None,
                "ci_high": None,
                "note": None,
                "suppressed": False,
            }
            if slope <= 0:
                row["note"] = "not meaningful: the 50 % horizon is not growing"
            else:
                row["value"] = float(1.0 / slope)
            if all(r is not None for r in reps[: i + 1]):
                mat = np.stack(reps[: i + 1], axis=1)  # (R, periods)
                # a replicate with an unbounded horizon (slope ≥ 0) or none (one outcome only) in
                # some period has no slope across periods: it is left out, and the note says how
                # many were, since leaving them out trims the interval's tails
                finite = np.isfinite(mat).all(axis=1)
                left_out = len(finite) - int(finite.sum())
                if finite.sum() >= 100:
                    m = mat[finite]
                    tc = tt - tt.mean()
                    slopes = ((m - m.mean(1, keepdims=True)) @ tc) / (tc @ tc)
                    lo, hi = interval(slopes)
                    if row["value"] is not None:
                        row["ci_low"] = float(1 / hi) if hi is not None and hi > 0 else None
                        row["ci_high"] = float(1 / lo) if lo is not None and lo > 0 else None
                        if row["ci_high"] is None:
                            row["note"] = "interval unbounded above (the horizon may not be growing)"
                        elif left_out:
                            row["note"] = (
                                f"interval from {int(finite.sum())} of {len(finite)} replicates "
                                f"({left_out} had no finite 50 % horizon in some period)"
                            )
            rows.append(row)
    schema = {**ROW_SCHEMA, "suppressed": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def actors_through(conn: duckdb.DuckDBPyConnection, period_types: tuple[str, ...] = ()) -> ActorsThrough:
    """Distinct actors of completed AI attempts up to and including a period (one scan)."""
    cursor = conn.cursor()
    try:
        firsts = cursor.sql(f"SELECT min(ts) FROM ({SOURCE}) GROUP BY hash(actor)").fetchall()
    finally:
        cursor.close()
    return ActorsThrough(np.sort(np.array([f[0] for f in firsts], dtype="datetime64[us]")))


class ActorsThrough:
    def __init__(self, firsts: np.ndarray) -> None:
        self.firsts = firsts

    def get(self, key: tuple[str, str], default: int | None = None) -> int:
        from autoscope.pipelines.periods import bounds

        _, end = bounds(*key)
        return int(np.searchsorted(self.firsts, np.datetime64(end, "us"), side="left"))

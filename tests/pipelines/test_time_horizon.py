"""The time horizon against an independent computation of METR's objective (scipy), on data
where the weighting and the penalty change the answer; recovery of a known horizon; the plain
"not meaningful" cases; the doubling time across periods."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.optimize import minimize

from autoscope.pipelines.indicators import time_horizon as th
from autoscope.pipelines.jobs import compute_indicators
from tests.pipelines.warehouse_rows import MONDAY, add_task, warehouse


def scipy_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float | None) -> tuple[float, float]:
    """argmin of c·Σ w·logloss + ½·a² (intercept unpenalized); c None: no penalty."""

    def objective(p: np.ndarray) -> float:
        a, b = p
        z = a * x + b
        loss = np.sum(w * (np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)))
        return (c if c else 1.0) * loss + (0.5 * a * a if c else 0.0)

    return tuple(minimize(objective, np.array([-0.5, 3.0]), method="BFGS", options={"gtol": 1e-12}).x)


def h50(a: float, b: float) -> float:
    return 2 ** (-b / a)


def h80(a: float, b: float) -> float:
    return 2 ** ((math.log(4) - b) / a)


def skewed_attempts() -> list[tuple[str, str, float, bool]]:
    """(family, task_id, human_minutes, success): one big family of easy short tasks tried many
    times, small families of long tasks tried once — weighting moves the fit."""
    rows = []
    rng = np.random.default_rng(3)
    for t in range(12):  # family "big": 12 short tasks, 5 attempts each, mostly successes
        minutes = float(2 + 3 * t)
        for _attempt in range(5):
            rows.append(("big", f"big-{t}", minutes, bool(rng.random() < 0.9 - 0.02 * t)))
    for f in range(6):  # six families of 2 long tasks, 1 attempt each
        for t in range(2):
            minutes = float(60 * 2 ** (f % 4) + 13 * t)
            rows.append((f"fam{f}", f"f{f}-{t}", minutes, (f + t) % 3 == 0))
    return rows


def test_matches_an_independent_minimization_where_weights_and_penalty_matter(tmp_path: Path) -> None:
    rows = skewed_attempts()
    conn = warehouse(tmp_path / "w.duckdb")
    for i, (family, task, minutes, ok) in enumerate(rows):
        add_task(
            conn,
            actor=f"a{i % 7}",
            family=family,
            task_id=task,
            human_minutes=minutes,
            outcome="success" if ok else "failure",
        )
    frame = compute_indicators(conn, period_types=("week",))
    horizon = frame.filter(pl.col("indicator") == "time_horizon")
    got = horizon.filter(pl.col("metric") == "h50_minutes")["value"][0]
    got80 = horizon.filter(pl.col("metric") == "h80_minutes")["value"][0]

    # independent weights: 1 / (attempts of task × √(tasks in family)), normalized
    attempts: dict[str, int] = {}
    tasks_in: dict[str, set[str]] = {}
    for family, task, _, _ in rows:
        attempts[task] = attempts.get(task, 0) + 1
        tasks_in.setdefault(family, set()).add(task)
    w = np.array([1 / (attempts[t] * math.sqrt(len(tasks_in[f]))) for f, t, _, _ in rows])
    w /= w.sum()
    x = np.log2([m for _, _, m, _ in rows])
    y = np.array([float(ok) for *_, ok in rows])
    a, b = scipy_fit(x, y, w, 10.0)
    assert got == pytest.approx(h50(a, b), rel=2e-3)
    assert got80 == pytest.approx(h80(a, b), rel=2e-3)
    # the weighting and the penalty both change the answer (so the test can tell them apart)
    unweighted = scipy_fit(x, y, np.full(len(y), 1 / len(y)), 10.0)
    unpenalized = scipy_fit(x, y, w, None)
    assert abs(h50(*unweighted) / got - 1) > 0.1 and abs(h80(*unweighted) / got80 - 1) > 0.1
    assert abs(h80(*unpenalized) / got80 - 1) > 0.1


def test_newton_refit_solves_the_same_objective() -> None:
    rows = skewed_attempts()
    x = np.log2([m for _, _, m, _ in rows])
    y = np.array([float(ok) for *_, ok in rows])
    w = np.random.default_rng(0).random(len(y))
    a, b = th.newton(x, (w * y)[None, :], (w * (1 - y))[None, :], -0.3, 2.0)
    ea, eb = scipy_fit(x, y, w, th.C)
    assert (a[0], b[0]) == (pytest.approx(ea, rel=1e-6), pytest.approx(eb, rel=1e-6))


def test_a_known_horizon_is_recovered_within_its_interval() -> None:
    rng = np.random.default_rng(11)
    true_h50, slope = 90.0, -1.1
    n_tasks = 1500
    family = rng.choice([f"f{i}" for i in range(30)], n_tasks)
    x = np.log2(true_h50) + rng.uniform(-4, 4, n_tasks)
    n = rng.integers(1, 4, n_tasks)
    s = rng.binomial(n, 1 / (1 + np.exp(-slope * (x - np.log2(true_h50)))))
    fit = th.fit_cell(family, x, n, s)
    lo, hi = fit["h50_minutes_ci"]
    assert lo < true_h50 < hi, (lo, fit["h50_minutes"], hi)
    assert hi / lo < 1.6, "1,500 tasks pin the horizon down"
    assert fit["valid_replicates"] == th.REPLICATES


@pytest.mark.parametrize("n_tasks", [600, 3000])  # exact x, and x on the bootstrap's grid
def test_tasks_given_with_counts_fit_as_the_same_tasks_listed_one_by_one(n_tasks: int) -> None:
    rng = np.random.default_rng(5)
    family = rng.choice(["f0", "f1", "f2", "f3"], n_tasks)
    x = np.log2(rng.choice([5.0, 15.0, 30.0, 60.0, 240.0, 480.0], n_tasks))  # round estimates repeat
    n = rng.integers(1, 3, n_tasks)
    s = rng.binomial(n, 1 / (1 + np.exp(1.0 * (x - np.log2(60.0)))))
    one_by_one = th.fit_cell(family, x, n, s, replicates=200, seed=3)
    shapes, count = np.unique(np.rec.fromarrays([family, x, n, s]), return_counts=True)
    grouped = th.fit_cell(
        shapes.f0,
        shapes.f1,
        shapes.f2.astype(np.int64),
        shapes.f3.astype(np.int64),
        replicates=200,
        seed=3,
        count=count,
    )
    assert len(shapes) < n_tasks / 5
    assert grouped["attempts"] == one_by_one["attempts"]
    for metric in ("a", "b", "h50_minutes", "h80_minutes"):
        assert grouped[metric] == pytest.approx(one_by_one[metric], rel=1e-9)
    assert grouped["h50_minutes_ci"] == pytest.approx(one_by_one["h50_minutes_ci"], rel=1e-9)
    np.testing.assert_allclose(grouped["log2_h50"], one_by_one["log2_h50"], rtol=1e-9)


def test_bootstrap_skips_replicates_whose_outcomes_are_all_alike() -> None:
    # two families, one all successes and one all failures: a replicate drawing one family twice is skipped
    family = np.array(["a"] * 6 + ["b"] * 6)
    x = np.log2(np.array([5, 6, 7, 8, 9, 10, 50, 60, 70, 80, 90, 100], dtype=float))
    n = np.ones(12, dtype=np.int64)
    s = np.array([1] * 6 + [0] * 6)
    fit = th.fit_cell(family, x, n, s)
    assert 300 < fit["valid_replicates"] < 700  # about half draw both families


@pytest.mark.parametrize(
    ("outcomes", "minutes", "reason"),
    [
        (["success", "failure"] * 4, [10, 20] * 4, "fewer than 10"),
        (["success"] * 12, list(range(1, 13)), "one outcome only"),
        (["failure", "success"] * 6, [10, 1000] * 6, "slope ≥ 0"),
    ],
)
def test_not_meaningful_is_said_plainly(tmp_path: Path, outcomes: list[str], minutes: list[int], reason: str) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i, (o, m) in enumerate(zip(outcomes, minutes)):
        add_task(conn, actor=f"a{i % 6}", outcome=o, human_minutes=m)
    frame = compute_indicators(conn, period_types=("week",))
    row = frame.filter((pl.col("indicator") == "time_horizon") & (pl.col("metric") == "h50_minutes")).row(0, named=True)
    assert row["value"] is None and row["ci_low"] is None and reason in row["note"]


def test_doubling_time_across_weeks(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    rng = np.random.default_rng(5)
    doubling_days = 14.0
    for week in range(6):
        true = 30 * 2 ** (7 * week / doubling_days)
        at = MONDAY + dt.timedelta(days=7 * week)
        for i in range(400):
            x = math.log2(true) + rng.uniform(-4, 4)
            ok = rng.random() < 1 / (1 + math.exp(1.5 * (x - math.log2(true))))
            add_task(
                conn,
                actor=f"a{i % 8}",
                family=f"f{i % 20}",
                human_minutes=2**x,
                at=at,
                outcome="success" if ok else "failure",
            )
    frame = compute_indicators(conn, period_types=("week",))
    doubling = frame.filter(pl.col("metric") == "doubling_time_days").sort("period")
    assert doubling.height == 4  # from the third week on
    last = doubling.row(-1, named=True)
    assert last["ci_low"] < doubling_days < last["ci_high"], last
    assert last["value"] == pytest.approx(doubling_days, rel=0.25)
    assert last["n_events"] == 6 * 400 and last["n_actors"] == 8


def test_large_fits_solved_by_newton_agree_with_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    n_tasks = th.SKLEARN_ROWS + 5000  # more distinct lengths than sklearn is used for
    family = rng.choice(["a", "b", "c"], n_tasks)
    x = rng.uniform(0, 10, n_tasks)
    n = np.ones(n_tasks, dtype=np.int64)
    s = (rng.random(n_tasks) < 1 / (1 + np.exp(1.3 * (x - 6)))).astype(np.int64)
    fit = th.fit_cell(family, x, n, s, replicates=50)
    w = th.attempt_weights(n, family)
    model = LogisticRegression(C=th.C).fit(x.reshape(-1, 1), s, sample_weight=w)
    assert fit["a"] == pytest.approx(model.coef_[0, 0], rel=1e-3)
    assert fit["b"] == pytest.approx(model.intercept_[0], rel=1e-3)


def test_newtons_merged_rows_are_the_fits_rows_bit_for_bit() -> None:
    """fit_cell hands Newton (unique x, success weight, failure weight) as it merged them; the
    earlier code re-derived them from the concatenated (x, y, weight) rows with np.unique and
    np.bincount. Both are computed here over data with several attempts per task, families of
    unequal size and repeated lengths: the same arrays, and so the same fit, to the last bit."""
    rng = np.random.default_rng(5)
    n_tasks = th.SKLEARN_ROWS + 10_000
    family = rng.choice(["a", "b", "c", "d"], n_tasks, p=[0.4, 0.3, 0.2, 0.1])
    x = np.round(rng.uniform(0, 10, n_tasks) * 3000) / 3000  # ~1/3 of the lengths repeat
    n = rng.integers(1, 4, n_tasks)
    s = rng.binomial(n, 1 / (1 + np.exp(1.1 * (x - 5))))
    count = rng.integers(1, 3, n_tasks)
    w = th.attempt_weights(n, family, count)
    ux, inv = np.unique(x, return_inverse=True)
    w1 = np.bincount(inv, weights=w * s * count, minlength=len(ux))
    w0 = np.bincount(inv, weights=w * (n - s) * count, minlength=len(ux))
    assert ((w1 > 0) | (w0 > 0)).all()  # every length has an attempt
    xs = np.concatenate([ux[w1 > 0], ux[w0 > 0]])
    ys = np.concatenate([np.ones(int((w1 > 0).sum())), np.zeros(int((w0 > 0).sum()))])
    ws = np.concatenate([w1[w1 > 0], w0[w0 > 0]])
    assert len(xs) > th.SKLEARN_ROWS  # the Newton path
    rederived = [np.bincount(np.unique(xs, return_inverse=True)[1], weights=ws * (ys == v)) for v in (1, 0)]
    assert np.array_equal(np.unique(xs), ux)
    assert np.array_equal(rederived[0], w1) and np.array_equal(rederived[1], w0)
    a0, b0 = th.fit_sklearn(*th._subsample(xs, ys, ws))
    before = th.newton(np.unique(xs), rederived[0][None, :], rederived[1][None, :], a0, b0)
    fit = th.fit_cell(family, x, n, s, replicates=20, count=count)
    assert (fit["a"], fit["b"]) == (float(before[0][0]), float(before[1][0]))

"""k-threshold and complementary suppression on hand-made cells (no warehouse needed)."""

from __future__ import annotations

import polars as pl
import pytest

from autoscope.pipelines.anonymize import MIN_K, apply_k_threshold, resolve_k


def cells(sizes: dict[str, int], *, metrics: tuple[str, ...] = ("m1", "m2")) -> pl.DataFrame:
    """One week of one indicator: a team cell per entry, and the lab total (their sum)."""
    rows = [("team", team, n) for team, n in sizes.items()] + [("lab", "all", sum(sizes.values()))]
    return pl.DataFrame(
        [
            {
                "indicator": "x",
                "metric": m,
                "period_type": "week",
                "period": "2026-W07",
                "cut": cut,
                "cut_value": value,
                "value": 0.5,
                "n_events": 2 * n,
                "n_actors": n,
            }
            for cut, value, n in rows
            for m in metrics
        ]
    )


def suppressed(frame: pl.DataFrame) -> set[str]:
    out = frame.filter(pl.col("suppressed"))
    assert out["value"].is_null().all() and out["n_events"].is_null().all() and out["n_actors"].is_null().all()
    assert frame.group_by("cut_value").agg(pl.col("suppressed").n_unique())["suppressed"].max() == 1, (
        "all metrics of a cell share its fate"
    )
    return set(out["cut_value"])


def test_no_small_cell_means_nothing_withheld() -> None:
    assert suppressed(apply_k_threshold(cells({"a": 5, "b": 9}), 5)) == set()


def test_one_small_team_takes_the_smallest_released_team_with_it() -> None:
    frame = apply_k_threshold(cells({"a": 4, "b": 9, "c": 6, "d": 7}), 5)
    assert suppressed(frame) == {"a", "c"}
    assert frame.filter(pl.col("cut_value") == "b")["n_actors"].to_list() == [9, 9]


def test_two_small_teams_still_take_one_released_team() -> None:
    # a and b together have 6 actors, but actors may belong to both: stay conservative
    assert suppressed(apply_k_threshold(cells({"a": 3, "b": 3, "c": 6, "d": 8}), 5)) == {"a", "b", "c"}


def test_ties_are_broken_deterministically_by_name() -> None:
    assert suppressed(apply_k_threshold(cells({"a": 2, "z": 6, "m": 6}), 5)) == {"a", "m"}


def test_hidden_lab_total_needs_no_complement() -> None:
    frame = cells({"a": 1, "b": 3})  # lab has 4 actors: suppressed itself
    assert suppressed(apply_k_threshold(frame, 5)) == {"a", "b", "all"}


def test_raised_k_applies_to_complements_too() -> None:
    assert suppressed(apply_k_threshold(cells({"a": 6, "b": 8, "c": 9}), 7)) == {"a", "b"}


def test_k_below_five_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="at least 5"):
        resolve_k(4)
    monkeypatch.setenv("AUTOSCOPE_K", "3")
    with pytest.raises(ValueError, match="at least 5"):
        resolve_k()
    monkeypatch.setenv("AUTOSCOPE_K", "8")
    assert resolve_k() == 8 and resolve_k(6) == 6 and MIN_K == 5


def _reasons(frame: pl.DataFrame) -> dict[str, str | None]:
    return dict(frame.select(["cut_value", "suppression_reason"]).unique().iter_rows())


def test_each_suppressed_cell_says_why() -> None:
    # a is too small; c is hidden only so that a cannot be had as lab minus b, c, d
    reasons = _reasons(apply_k_threshold(cells({"a": 4, "b": 9, "c": 6, "d": 7}), 5))
    assert reasons == {"a": "too_few_people", "c": "protects_cut", "b": None, "d": None, "all": None}


def test_a_period_hidden_to_protect_another_period_says_so() -> None:
    # two weeks of one month for one team: week 2 is small, so the month forces week 1 hidden too
    rows = [("week", "2026-W02", 9), ("week", "2026-W03", 3), ("month", "2026-01", 10)]
    frame = pl.DataFrame(
        [
            {
                "indicator": "x",
                "metric": "m",
                "period_type": pt,
                "period": p,
                "cut": "lab",
                "cut_value": "all",
                "value": 0.5,
                "n_events": 2 * n,
                "n_actors": n,
            }
            for pt, p, n in rows
        ]
    )
    out = apply_k_threshold(frame, 5)
    reasons = dict(out.select(["period", "suppression_reason"]).iter_rows())
    assert reasons == {"2026-W02": "protects_period", "2026-W03": "too_few_people", "2026-01": None}

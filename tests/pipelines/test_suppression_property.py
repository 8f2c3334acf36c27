"""Property: for any data set, no released cell — directly, or by differencing released cells
from a released total — rests on fewer than k actors (k = 5), across every cut and period
(week, month, quarter) released together."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscope.pipelines.anonymize import apply_k_threshold
from autoscope.pipelines.jobs import compute_indicators
from autoscope.pipelines.periods import label, parent
from autoscope.warehouse.schema import migrate

K = 5
START = dt.datetime(2026, 9, 14, 10)  # weeks crossing a month end and a quarter end
CUTS = ("team", "rung")

events = st.lists(
    st.tuples(
        st.integers(0, 14),                      # actor
        st.sampled_from(["a", "b", "c", "d"]),   # team
        st.sampled_from(["engineering", "experiments", "ideation"]),  # rung
        st.integers(0, 40),                      # day offset
    ),
    min_size=1, max_size=120,
)


def actor_sets(rows: list[tuple[int, str, str, int]]) -> dict[tuple[str, str, str, str], set[int]]:
    """(period_type, period, cut, cut_value) → the actors behind that cell."""
    out: dict[tuple[str, str, str, str], set[int]] = defaultdict(set)
    for actor, team, rung, day in rows:
        when = START + dt.timedelta(days=day)
        for pt in ("week", "month", "quarter"):
            p = label(pt, when)
            out[(pt, p, "lab", "all")].add(actor)
            out[(pt, p, "team", team)].add(actor)
            out[(pt, p, "rung", rung)].add(actor)
    return out


def check(frame: pl.DataFrame, actors: dict[tuple[str, str, str, str], set[int]]) -> None:
    status = {(r["period_type"], r["period"], r["cut"], r["cut_value"]): r["suppressed"]
              for r in frame.select(["period_type", "period", "cut", "cut_value", "suppressed"]).unique().iter_rows(named=True)}
    assert set(status) == set(actors), "every cell is present, suppressed or not"
    for key, suppressed in status.items():
        if not suppressed:
            assert len(actors[key]) >= K, f"released cell {key} rests on {len(actors[key])} actors"
    # groups: parts of a cut under the lab total; months under a quarter; weeks under a month
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for pt, p, cut, value in status:
        if cut != "lab":
            groups[(pt, p, "lab", "all")].append((pt, p, cut, value))
        up = parent(pt, p)
        if up is not None and (up[0], up[1], cut, value) in status:
            groups[(up[0], up[1], cut, value, "time")].append((pt, p, cut, value))
    for total, parts in groups.items():
        total_key = total[:4]
        if status[total_key]:
            continue  # a suppressed total gives nothing to difference from
        by_cut: dict[str, list[tuple]] = defaultdict(list)
        for part in parts:
            by_cut[part[2] if len(total) == 4 else "time"].append(part)
        for members in by_cut.values():
            hidden = [m for m in members if status[m]]
            if hidden:
                behind = set().union(*(actors[m] for m in hidden))
                assert len(behind) >= K, f"total {total_key} minus released parts reveals {hidden}: {len(behind)} actors"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_suppression_alone(rows: list[tuple[int, str, str, int]]) -> None:
    actors = actor_sets(rows)
    n_events: dict[tuple, int] = defaultdict(int)
    for actor, team, rung, day in rows:
        when = START + dt.timedelta(days=day)
        for pt in ("week", "month", "quarter"):
            p = label(pt, when)
            for cut, value in (("lab", "all"), ("team", team), ("rung", rung)):
                n_events[(pt, p, cut, value)] += 1
    cells = pl.DataFrame(
        [{"indicator": "x", "metric": "m", "period_type": k[0], "period": k[1], "cut": k[2], "cut_value": k[3],
          "value": 1.0, "n_events": n_events[k], "n_actors": len(a)} for k, a in actors.items()])
    check(apply_k_threshold(cells, K), actors)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_the_released_automation_share(rows: list[tuple[int, str, str, int]]) -> None:
    conn = duckdb.connect()
    migrate(conn)
    for i, (actor, team, rung, day) in enumerate(rows):
        conn.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, 't', '1', ?, 'analysis', ?, 'supervised', 'analysis', 'engineer',"
            " ?, 10.0, 1.0, 'success', NULL)",
            [f"e{i}", START + dt.timedelta(days=day), f"actor{actor}", team, f"t{i}", "ai" if i % 2 else "human", rung])
    frame = compute_indicators(conn, k=K).filter(
        (pl.col("indicator") == "automation_share") & pl.col("cut").is_in(["lab", *CUTS]))
    check(frame, {k: {f"actor{a}" for a in v} for k, v in actor_sets(rows).items()})

"""Sophistication ladder (docs/indicators.md): AI's share of tasks on each rung, and the highest rung
where that share is at least 10 %.

* ``ai_share`` (cut ``rung``): AI task events / task events of a known executor on that rung
  (the lab cell holds the share over all rungs; executor ``unknown`` is in no share);
* ``highest_rung`` (cuts lab, team and, with team classes, team_class): the ordinal (1
  engineering, 2 experiments, 3 ideation, 4 strategy; 0 none) of the highest rung whose AI
  share is ≥ 10 %, the rung's name in ``note``. Only rungs on which at least k distinct actors
  worked count — a rung one person works on would otherwise say something about that person.

Contributing actors (for k): the distinct actors of the cell's tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.core import contract
from autoscope.pipelines.indicators.cells import CELL_SCHEMA, Facts, Scope, actors_of, facts_for, labelled, run_wide
from autoscope.pipelines.periods import period_sql

NAME = "ladder"
RUNGS = contract.RUNGS  # the ladder, lowest rung first, as the contract orders it
THRESHOLD = 0.10
#: (metric, cut) of the rows it releases
SHAPE = (("ai_share", "lab"), ("ai_share", "rung"), ("highest_rung", "lab"), ("highest_rung", "team"))


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope, k: int = 5) -> pl.DataFrame:
    """Per period, the (lab) and (rung) groups of the fine task rows, and per unit — the lab, each
    team and (with team classes) each class — its groups by rung for the highest rung."""
    if scope.is_empty():
        return pl.DataFrame(schema={**CELL_SCHEMA, "note": pl.Utf8})
    units = scope.cuts_for(("team",))  # team, and team_class when classes are configured
    sets, type_case, period_case = [], [], []
    for pt in scope.period_types:
        sets += [f"(p_{pt})", f"(p_{pt}, rung)"]
        sets += [f"(p_{pt}, {u})" for u in units] + [f"(p_{pt}, {u}, rung)" for u in units]
        type_case.append(f"WHEN GROUPING(p_{pt}) = 0 THEN '{pt}'")
        period_case.append(f"WHEN GROUPING(p_{pt}) = 0 THEN {period_sql(pt, f'p_{pt}')}")
    any_label = " OR ".join(f"p_{pt} IS NOT NULL" for pt in scope.period_types)
    unit_cut = "CASE " + " ".join(f"WHEN GROUPING({u}) = 0 THEN '{u}'" for u in units) + " ELSE 'lab' END"
    unit_value = "CASE " + " ".join(f"WHEN GROUPING({u}) = 0 THEN {u}" for u in units) + " ELSE 'all' END"
    query = f"""
        SELECT CASE {" ".join(type_case)} END AS period_type, CASE {" ".join(period_case)} END AS period,
               {unit_cut} AS cut, CAST({unit_value} AS VARCHAR) AS cut_value,
               CASE WHEN GROUPING(rung) = 0 THEN rung END AS rung,
               CAST(sum(n) AS BIGINT) AS n_events, CAST({actors_of()} AS BIGINT) AS n_actors,
               CAST(sum(n_ai) / nullif(sum(n_known), 0) AS DOUBLE) AS share
        FROM ({labelled(scope, scope.with_class_column("SELECT * FROM {source}", units), truncated=True)})
        WHERE {any_label}
        GROUP BY GROUPING SETS ({", ".join(sets)})
        HAVING period IS NOT NULL"""
    with facts_for(conn, scope) as facts:
        g = run_wide(facts, query.replace("{source}", facts.table("fx_tasks")))
    if g.is_empty():
        return pl.DataFrame(schema={**CELL_SCHEMA, "note": pl.Utf8})
    g = g.with_columns(pl.col("n_events").cast(pl.Int64), pl.col("n_actors").cast(pl.Int64))
    base = [pl.lit(NAME).alias("indicator"), "period_type", "period"]
    unit = ["period_type", "period", "cut", "cut_value"]
    shares = g.filter(pl.col("cut") == "lab").select(
        *base,
        pl.lit("ai_share").alias("metric"),
        pl.when(pl.col("rung").is_null()).then(pl.lit("lab")).otherwise(pl.lit("rung")).alias("cut"),
        pl.col("rung").fill_null("all").alias("cut_value"),
        pl.col("share").alias("value"),
        "n_events",
        "n_actors",
        pl.lit(None, pl.Utf8).alias("note"),
    )
    rank = {r: i + 1 for i, r in enumerate(RUNGS)}
    counted = (
        g.filter(pl.col("rung").is_not_null() & (pl.col("share") >= THRESHOLD) & (pl.col("n_actors") >= k))
        .with_columns(r=pl.col("rung").replace_strict(rank, default=0, return_dtype=pl.Int64))
        .group_by(unit)
        .agg(top=pl.col("r").max())
    )
    names = {0: "none", **{i + 1: r for i, r in enumerate(RUNGS)}}
    highest = (
        g.filter(pl.col("rung").is_null())
        .join(counted, on=unit, how="left")
        .with_columns(top=pl.col("top").fill_null(0))
        .select(
            *base,
            pl.lit("highest_rung").alias("metric"),
            "cut",
            "cut_value",
            pl.col("top").cast(pl.Float64).alias("value"),
            "n_events",
            "n_actors",
            pl.col("top").replace_strict(names, return_dtype=pl.Utf8).alias("note"),
        )
    )
    return pl.concat([shares, highest], how="vertical")

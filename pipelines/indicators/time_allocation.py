"""Researcher time allocation (docs/indicators.md; GovAI, "Measuring AI R&D Automation", 2026):
the share of researchers' time spent directing and reviewing AI rather than doing the work
themselves, per period and team.

The sources do not measure the same thing, so a cell takes its figures from ONE of them, the
first it has (the ``source_*`` metrics say which):

1. ``survey``: ``time_allocation`` answers with origin survey. A survey covers all of a
   researcher's time (directing AI, reviewing AI, own work), so the shares are exact for the
   people who answered (self-reported);
2. ``time_tracking``: ``time_allocation`` events with origin time_tracking (all activities, as
   a time tracker books them);
3. ``measured``: what the tools see without asking — the minutes coding agents report a person
   actively driving them (``agent_telemetry``: Claude Code's ``active_time.total`` of type
   user) plus a person's review minutes of AI and mixed tasks (``reviews.minutes``, a person's
   own review: oversight person, reviewer_kind person; placed in the review's period and team,
   since it is the reviewer's time). These see only AI-directed time, never own work, so the
   shares are NULL and only the minutes per researcher are given: a *lower bound* of the time
   spent on AI (unreported agents, reading AI output outside review, planning).

A cell with survey answers ignores its telemetry; a month with one surveyed week is that
week's answers. The lab-wide cell with any survey answer describes the people who answered.

* ``ai_directed_share``: (directing_ai + reviewing_ai) / all minutes of the chosen source
  (own work = 1 − it); ``directing_share`` and ``reviewing_share`` its parts;
* ``ai_directed_minutes_per_researcher``: directing + reviewing minutes / the researchers of
  the chosen source (per period: a month sums its weeks);
* ``source_survey``, ``source_time_tracking``, ``source_measured``: 1 for the source the cell's
  figures came from, else 0 (the method note per period).

Cut: team. Contributing actors (for k): the researchers who contributed figures of the chosen
source (whom the values describe). ``n_events``: every time figure of the cell, of any source
(survey answers, tracked entries, telemetry reports, reviews), so that it partitions exactly.
Not protected by construction: a reader who knows that a hidden part of a released total used
another source than the total could difference the chosen source's minutes (per researcher ×
researchers); the source flags of released cells are such knowledge only within one period's
cut or nested periods, and what it would give is minutes of time, not a person's answers.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import PIECE, Facts, Scope, actors_of, cells, facts_for

NAME = "time_allocation"
CUTS = ("team",)
#: the sources in the order a cell prefers them; ``measured`` has no own-work figure
SOURCES = ("survey", "time_tracking", "measured")

#: every time figure: time_allocation events, and a person's reviews of AI and mixed tasks
#: (origin ``review``, activity reviewing_ai)
FIGURES = """
    SELECT occurred_at, team, actor, origin, activity, minutes FROM time_allocations
    UNION ALL
    SELECT occurred_at, team, reviewer AS actor, 'review' AS origin, 'reviewing_ai' AS activity, minutes
    FROM reviews
    WHERE coalesce(oversight, 'person') = 'person' AND coalesce(reviewer_kind, 'person') = 'person'
      AND task_id IN (SELECT task_id FROM tasks WHERE executor IN ('ai', 'mixed'))"""
#: the origins of each source
_ORIGINS = {"survey": ("survey",), "time_tracking": ("time_tracking",), "measured": ("agent_telemetry", "review")}


def _fine(scope: Scope) -> str:
    """Per (piece, team): per source, its figures, minutes by activity and researchers."""
    aggs = []
    for source, origins in _ORIGINS.items():
        where = "origin IN (" + ", ".join(f"'{o}'" for o in origins) + ")"
        aggs.append(f"count(*) FILTER (WHERE {where}) AS n_{source}")
        for activity in ("directing_ai", "reviewing_ai", "own_work"):
            aggs.append(f"sum(minutes) FILTER (WHERE {where} AND activity = '{activity}') AS {source}_{activity}")
        aggs.append(f"{{set}} FILTER (WHERE {where}) AS {source}_actors")
    return f"""SELECT {PIECE.format(col="occurred_at")} AS ts, team, {", ".join(aggs)}
        FROM ({FIGURES}) f JOIN {{actors}} ON {{actors}}.h = hash(f.actor)
        WHERE {scope.since_sql("f.occurred_at")}
        GROUP BY ALL"""


def _minutes(source: str, *activities: str) -> str:
    return " + ".join(f"coalesce(sum({source}_{a}), 0)" for a in activities)


def _by_source(expressions: dict[str, str], otherwise: str = "NULL") -> str:
    """One CASE: the expression of the first source the cell has figures of."""
    whens = " ".join(f"WHEN coalesce(sum(n_{s}), 0) > 0 THEN {expressions[s]}" for s in SOURCES if s in expressions)
    return f"CASE {whens} ELSE {otherwise} END"


def _share(*activities: str) -> str:
    full = ("directing_ai", "reviewing_ai", "own_work")
    return _by_source(
        {
            s: f"({_minutes(s, *activities)}) / nullif({_minutes(s, *full)}, 0)" if s != "measured" else "NULL"
            for s in SOURCES
        }
    )


#: every time figure of the cell, whichever source it used: a count that partitions exactly over
#: teams and periods (the chosen source may differ between a total and its parts, and a count of
#: it would not), so complementary suppression protects it as it protects every other count
N_EVENTS = " + ".join(f"coalesce(sum(n_{s}), 0)" for s in SOURCES)
N_ACTORS = _by_source({s: actors_of(f"{s}_actors") for s in SOURCES}, "0")
METRICS = {
    "ai_directed_share": _share("directing_ai", "reviewing_ai"),
    "directing_share": _share("directing_ai"),
    "reviewing_share": _share("reviewing_ai"),
    "ai_directed_minutes_per_researcher": _by_source(
        {s: f"({_minutes(s, 'directing_ai', 'reviewing_ai')}) / nullif({actors_of(f'{s}_actors')}, 0)" for s in SOURCES}
    ),
    **{f"source_{s}": _by_source({s: "1"} | {o: "0" for o in SOURCES if o != s}, "0") for s in SOURCES},
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        fine = facts.table("fx_time_allocation", _fine(scope))
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {fine}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql=N_EVENTS,
            n_actors_sql=N_ACTORS,
        )

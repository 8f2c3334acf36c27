"""Merged code written with AI, and how long it survives (docs/indicators.md), over the lines
added by commits that reached the default branch (contributions with ``on_default_branch``
and ``lines_added``, as ``autoscope git`` reports them):

* ``merged_lines``: lines added by those commits, automation (CI, dependency and release bots)
  left out;
* ``ai_share``: the share of them in AI-authored or AI-co-authored commits ("share of merged
  code written with AI", the figure labs publish); ``ai_authored_share``,
  ``ai_coauthored_share``, ``ai_assisted_share`` (a person's commit that names AI help) and
  ``human_share``, by the commit's ``line_class``. A commit is in one class, so a line is
  counted once and the four add up to 1 where every commit was classified;
* ``automation_lines``: lines automation added, shown apart (in no share);
* ``ai_survival_share``: of the AI-written lines (ai_authored, ai_coauthored) merged in the
  period, the share still present at the end of the *next* period (``line_survival`` events:
  git blame of the default branch then); ``human_survival_share`` the same for human lines.
  Months and quarters only: ``autoscope git scan --survival`` blames the default branch at each
  month end, and a quarter end is a month end; a week's figure would need a blame every week
  and says little about code that lives for months. NULL for weeks, and where no survival was
  reported yet (the next period has not ended, or no scan ran since). A commit without its
  survival count is left out of both sides of the share, not counted as deleted.

A commit counts in the period and team of its contribution (its author date; git does not say
when it was merged). Git is the only source of merged lines: coding agents' own line counters
(``agent_turn_facts.lines_added``) count lines an agent *edited* in a session, many rewritten or
never committed, and the committed ones are in git as well; they are never added to git's lines
nor used to classify them, so a line both report is counted once, from git
(docs/semantic-conventions.md, "Lines"). A lab without the git hook or scan gets no figure here,
rather than one that mixes the two.

The merged-line shares were the authorship indicator's ``merged_line_share_ai`` and
``merged_line_share_ai_authored`` before issue 16; they are released here only (``ai_share``,
``ai_authored_share``), never under two names.

Cut: team. Contributing actors (for k): the distinct authors of the merged commits (automation
left out). ``n_events``: those commits. It is a family of its own (``pipelines/anonymize.py``):
its count is not authorship's (contributions of every kind, merged or not) and the difference,
the contributions that are not merged commits, is released nowhere, so neither count follows
from the other; where the two coincide (every contribution a merged commit) so do the actors,
and both indicators then make the same suppression decisions. Survival events arrive after their commit's period
ended, so the incremental job recomputes the commit's period when one arrives (``jobs.py``).
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import PIECE, Facts, Scope, actors_of, cells, facts_for

NAME = "merged_code"
CUTS = ("team",)
LINE_CLASSES = ("ai_authored", "ai_coauthored", "ai_assisted", "human")
#: the period types whose survival is measured (the end of the next one is a month end)
SURVIVAL_PERIODS = {"month": "INTERVAL 2 MONTH", "quarter": "INTERVAL 6 MONTH"}
_AI = "line_class IN ('ai_authored', 'ai_coauthored')"
_HUMAN = "line_class = 'human'"
#: shares of merged lines by class; the survival metrics are added per scope (:func:`_metrics`)
SHARES = {
    "merged_lines": "sum(lines)",
    "ai_share": "(coalesce(sum(lines_ai_authored), 0) + coalesce(sum(lines_ai_coauthored), 0)) / nullif(sum(lines), 0)",
    **{f"{c}_share": f"coalesce(sum(lines_{c}), 0) / nullif(sum(lines), 0)" for c in LINE_CLASSES},
    "automation_lines": "coalesce(sum(lines_automation), 0)",
}
SURVIVAL = ("ai_survival_share", "human_survival_share")
METRICS = (*SHARES, *SURVIVAL)


def _survival_columns() -> str:
    """Per piece, for each survival period type: the AI and human lines whose survival at the
    end of the next period is known, and how many of them survived."""
    out = []
    for pt in SURVIVAL_PERIODS:
        for side, condition in (("ai", _AI), ("human", _HUMAN)):
            known = f"{condition} AND s_{pt}.surviving IS NOT NULL"
            out += [
                f"sum(m.lines_added) FILTER (WHERE {known}) AS {side}_measured_{pt}",
                f"sum(least(s_{pt}.surviving, m.lines_added)) FILTER (WHERE {known}) AS {side}_surviving_{pt}",
            ]
    return ",\n".join(out)


#: per (piece, team): merged commits, their lines by class, and the survival of AI and human lines
FINE = f"""
    WITH survival AS (  -- a rescan reports the same (commit, as_of) again: the latest report holds
        SELECT contribution_id, as_of, arg_max(lines_surviving, occurred_at) AS surviving
        FROM line_survival GROUP BY contribution_id, as_of
    ), merged AS (
        SELECT occurred_at, team, actor, contribution_id, first_author, line_class, lines_added
        FROM contributions WHERE on_default_branch AND lines_added IS NOT NULL AND {{since}}
    )
    SELECT {PIECE.format(col="m.occurred_at")} AS ts, m.team,
           count(*) FILTER (WHERE m.first_author <> 'automation') AS n,
           sum(m.lines_added) FILTER (WHERE m.first_author <> 'automation') AS lines,
           {", ".join(f"sum(m.lines_added) FILTER (WHERE line_class = '{c}') AS lines_{c}" for c in LINE_CLASSES)},
           sum(m.lines_added) FILTER (WHERE m.first_author = 'automation') AS lines_automation,
           {_survival_columns()},
           {{set}} FILTER (WHERE m.first_author <> 'automation') AS actors
    FROM merged m JOIN {{actors}} ON {{actors}}.h = hash(m.actor)
    {
    " ".join(
        f"LEFT JOIN survival s_{pt} ON s_{pt}.contribution_id = m.contribution_id"
        f" AND s_{pt}.as_of = date_trunc('{pt}', m.occurred_at) + {interval}"
        for pt, interval in SURVIVAL_PERIODS.items()
    )
}
    GROUP BY ALL"""


def _metrics(scope: Scope) -> dict[str, str]:
    """The shares, and the survival shares of the period types that have one (NULL for weeks)."""
    metrics = dict(SHARES)
    for side in ("ai", "human"):
        cases = " ".join(
            f"WHEN GROUPING(p_{pt}) = 0 THEN sum({side}_surviving_{pt}) / nullif(sum({side}_measured_{pt}), 0)"
            for pt in SURVIVAL_PERIODS
            if pt in scope.period_types
        )
        metrics[f"{side}_survival_share"] = f"CASE {cases} END" if cases else "NULL"
    return metrics


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        source = facts.table("fx_merged_code", FINE.replace("{since}", scope.since_sql("occurred_at")))
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {source}",
            metrics=_metrics(scope),
            cuts=CUTS,
            n_events_sql="coalesce(sum(n), 0)",
            n_actors_sql=actors_of(),
        )

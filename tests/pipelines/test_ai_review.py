"""Known answers for AI as reviewer (issue 16, item 4), computed in the test from the rows it
inserts; and human review frequency no longer counting an AI's review as a person's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscope.pipelines.jobs import compute_indicators
from autoscope.warehouse.schema import migrate
from tests.pipelines.test_all_indicators import cell
from tests.pipelines.warehouse_rows import add_review, add_task, warehouse
from tests.sizes import examples

ACTORS = [f"p{i}" for i in range(9)]
#: per AI task (one per actor p0…p8): its reviews as (reviewer_kind, oversight); each person's
#: review is by a reviewer of its own (five of them: enough people for the cell to be shown)
PLAN: list[list[tuple[str | None, str | None]]] = [
    [("ai", None)],  # AI only
    [("ai", None), ("ai", None)],  # AI only, twice
    [("ai", None), (None, None)],  # AI and a person
    [("person", None)],  # a person only
    [(None, "rule")],  # a standing rule: nobody's review
    [],  # unreviewed
    [(None, None)],
    [(None, None)],
    [("ai", None), ("person", None)],
]


def build(tmp_path: Path, one_reviewer: bool = False):  # type: ignore[no-untyped-def]
    conn = warehouse(tmp_path / "w.duckdb")
    for actor, reviews in zip(ACTORS, PLAN):
        task = add_task(conn, actor=actor)
        for kind, oversight in reviews:
            reviewer = "review-bot" if kind == "ai" else ("lead" if one_reviewer else f"lead-{actor}")
            add_review(conn, task, "approved", actor=actor, reviewer=reviewer, reviewer_kind=kind, oversight=oversight)
    add_task(conn, actor="p0", executor="human")  # not AI work
    return conn


def test_ai_review_shares(tmp_path: Path) -> None:
    frame = compute_indicators(build(tmp_path))
    reviews = [kind for task in PLAN for kind, oversight in task if kind == "ai" or oversight is None]
    assert cell(frame, "ai_review", "ai_review_share")["value"] == pytest.approx(reviews.count("ai") / len(reviews))
    ai_reviewed = sum(any(k == "ai" for k, _ in task) for task in PLAN)
    ai_only = sum(bool(task) and all(k == "ai" for k, _ in task) for task in PLAN)
    assert cell(frame, "ai_review", "ai_reviewed_share")["value"] == pytest.approx(ai_reviewed / len(PLAN))
    assert cell(frame, "ai_review", "ai_only_reviewed_share")["value"] == pytest.approx(ai_only / len(PLAN))
    share = cell(frame, "ai_review", "ai_review_share")
    rf = cell(frame, "review_frequency", "reviews_per_ai_task")
    # the cells are review frequency's: the same AI tasks (the count the tasks family shares)
    assert share["n_events"] == rf["n_events"] == len(PLAN)


def test_an_ai_review_is_not_a_persons_review(tmp_path: Path) -> None:
    frame = compute_indicators(build(tmp_path))
    person = [any(k != "ai" and o is None for k, o in task) for task in PLAN]
    assert cell(frame, "review_frequency", "person_reviewed_share")["value"] == pytest.approx(sum(person) / len(PLAN))
    person_reviews = sum(k != "ai" and o is None for task in PLAN for k, o in task)
    assert cell(frame, "review_frequency", "reviews_per_ai_task")["value"] == pytest.approx(person_reviews / len(PLAN))
    # AI-only and unreviewed work: no person and no rule decided
    assert cell(frame, "review_frequency", "unreviewed_share")["value"] == pytest.approx(3 / len(PLAN))


def test_ai_review_is_suppressed_with_review_frequency(tmp_path: Path) -> None:
    """One person reviewing a whole team's AI work: the AI review share would tell their share
    of the reviewing, so the cell counts the fewer of task actors and people who reviewed."""
    frame = compute_indicators(build(tmp_path, one_reviewer=True))
    # every person's review is by "lead": one person reviewed, so the lab cell is hidden
    lab = cell(frame, "ai_review", "ai_review_share")
    assert lab["suppressed"] and lab["value"] is None
    both = frame.filter(pl.col("indicator").is_in(["ai_review", "review_frequency"]))
    hidden = both.group_by(["indicator", "period_type", "period", "cut", "cut_value"]).agg(pl.col("suppressed").all())
    per_indicator = {
        name: set(
            hidden.filter((pl.col("indicator") == name) & pl.col("suppressed")).drop("indicator", "suppressed").rows()
        )
        for name in ("ai_review", "review_frequency")
    }
    assert per_indicator["ai_review"] == per_indicator["review_frequency"]


#: (task actor, team, day offset, reviews: 0 none, 1 a person's, 2 an AI's, 3 both)
review_rows = st.lists(
    st.tuples(st.integers(0, 11), st.sampled_from(["a", "b", "c"]), st.integers(0, 30), st.integers(0, 3)),
    min_size=1,
    max_size=80,
)


@pytest.mark.slow
@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review_rows)
def test_ai_review_is_suppressed_exactly_where_review_frequency_is(rows) -> None:  # type: ignore[no-untyped-def]
    """The two release the same AI-task count over the same cells and people, in one family:
    they must hide the same cells, and no released cell rests on fewer than k people."""
    conn = duckdb.connect()
    migrate(conn)
    start = dt.datetime(2026, 9, 14, 10)
    for actor, team, day, reviews in rows:
        at = start + dt.timedelta(days=day)
        task = add_task(conn, actor=f"p{actor}", team=team, at=at)
        if reviews in (1, 3):
            add_review(conn, task, "approved", actor=f"p{actor}", team=team, at=at, reviewer=f"r{actor % 7}")
        if reviews in (2, 3):
            add_review(conn, task, "approved", actor=f"p{actor}", team=team, at=at, reviewer="bot", reviewer_kind="ai")
    frame = compute_indicators(conn)
    key = ["period_type", "period", "cut", "cut_value"]
    hidden = {
        name: set(frame.filter((pl.col("indicator") == name) & pl.col("suppressed")).select(key).unique().rows())
        for name in ("ai_review", "review_frequency")
    }
    cells = {
        name: set(frame.filter(pl.col("indicator") == name).select(key).unique().rows())
        for name in ("ai_review", "review_frequency")
    }
    assert cells["ai_review"] == cells["review_frequency"]
    assert hidden["ai_review"] == hidden["review_frequency"]
    released = frame.filter((pl.col("indicator") == "ai_review") & ~pl.col("suppressed"))
    assert (released["n_actors"] >= 5).all()

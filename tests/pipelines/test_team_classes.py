"""Team classes: the configuration (file, variable, refusals), known answers of the class cut
computed independently over warehouse rows, and the suppression a class of one team needs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from autoscope.pipelines import team_classes
from autoscope.pipelines.anonymize import apply_k_threshold
from autoscope.pipelines.jobs import compute_indicators, run
from tests.pipelines.warehouse_rows import MONDAY, add_contribution, add_task, warehouse

CLASSES = team_classes.from_classes({"safety": ["a", "b"], "capabilities": ["c"]})


def test_classes_from_the_file_and_the_variable(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text('[indicators.team_classes]\nsafety = ["b", "a"]\ncapabilities = ["c"]\n')
    monkeypatch.delenv(team_classes.ENV, raising=False)
    assert team_classes.configured(config) == (("a", "safety"), ("b", "safety"), ("c", "capabilities"))
    monkeypatch.setenv(team_classes.ENV, "capabilities = c, a ; safety=b")  # the variable wins
    assert team_classes.configured(config) == (("a", "capabilities"), ("b", "safety"), ("c", "capabilities"))
    monkeypatch.setenv(team_classes.ENV, "")
    assert team_classes.configured(config) == ()  # set but empty: no classes
    monkeypatch.delenv(team_classes.ENV)
    config.write_text("[otlp]\n")
    assert team_classes.configured(config) is None  # not configured: the stored release's


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[indicators.team_classes]\nsafety = ["a"]\nother = ["a"]\n', "'a' is in two classes: 'safety' and 'other'"),
        ('[indicators.team_classes]\nsafety = "a"\n', "team class 'safety': give a list of teams"),
        ('[indicators.team_classes]\nsafety = [""]\n', "team names must be non-empty"),
        ("[indicators]\nteam_classes = 3\n", "indicators.team_classes must be a table"),
        ("[indicators.team_classes\n", "not valid TOML"),
    ],
)
def test_a_bad_configuration_names_the_file_and_the_key(tmp_path: Path, monkeypatch, toml: str, words: str) -> None:
    monkeypatch.delenv(team_classes.ENV, raising=False)
    config = tmp_path / "autoscope.toml"
    config.write_text(toml)
    with pytest.raises(team_classes.TeamClassError) as caught:
        team_classes.configured(config)
    assert str(config) in str(caught.value) and words in str(caught.value)


def test_a_bad_variable_is_refused() -> None:
    with pytest.raises(team_classes.TeamClassError, match="is not class=team,team"):
        team_classes.parse_env("safety")


def _lab(tmp_path: Path):
    """Teams a (6 people), b (6), c (6) and d (3, in no class): each person one task and one
    commit; AI does 4, 2, 3 and 1 of each team's tasks."""
    conn = warehouse(tmp_path / "w.duckdb")
    for team, people, ai in (("a", 6, 4), ("b", 6, 2), ("c", 6, 3), ("d", 3, 1)):
        for i in range(people):
            add_task(conn, actor=f"{team}{i}", team=team, executor="ai" if i < ai else "human", at=MONDAY)
            add_contribution(
                conn, actor=f"{team}{i}", team=team, first_author="ai" if i < ai else "human", ai_share=0.5
            )
    return conn


def test_class_cells_are_sums_of_their_teams(tmp_path: Path) -> None:
    frame = compute_indicators(_lab(tmp_path), classes=CLASSES).filter(
        (pl.col("period_type") == "week") & (pl.col("cut") == "team_class")
    )
    share = {
        r["cut_value"]: r
        for r in frame.filter((pl.col("indicator") == "automation_share") & (pl.col("metric") == "ai_share")).iter_rows(
            named=True
        )
    }
    assert set(share) == {"safety", "capabilities", "unclassified"}  # d is in no class
    assert share["safety"]["value"] == pytest.approx((4 + 2) / 12) and share["safety"]["n_actors"] == 12
    assert not share["safety"]["suppressed"]
    assert share["unclassified"]["suppressed"] and share["unclassified"]["suppression_reason"] == "too_few_people"
    # unclassified (d) alone hidden in the class cut would be the lab less the others: the
    # smallest other class, capabilities, is hidden beside it, and with it its only team, c
    assert share["capabilities"]["suppressed"]
    (tmp_path / "again").mkdir()
    team_c = compute_indicators(_lab(tmp_path / "again"), classes=CLASSES).filter(
        (pl.col("period_type") == "week") & (pl.col("cut") == "team") & (pl.col("cut_value") == "c")
    )
    assert team_c["suppressed"].all()
    authorship = frame.filter((pl.col("indicator") == "authorship") & (pl.col("metric") == "ai_first_author_share"))
    assert authorship.filter(pl.col("cut_value") == "safety")["value"].to_list() == [pytest.approx(6 / 12)]


def test_no_classes_no_class_cut(tmp_path: Path) -> None:
    frame = compute_indicators(_lab(tmp_path), classes=())
    assert frame.filter(pl.col("cut") == "team_class").is_empty()
    assert not frame.filter(pl.col("cut") == "team").is_empty()


def test_a_class_of_one_team_is_hidden_with_its_team() -> None:
    """Team c (6 people) is hidden to protect team d (3) in the lab's team cut; the class of c
    alone, released, would be c's cell: it is hidden too (the group of one part)."""
    counts = {("lab", "all"): 15, ("team", "c"): 6, ("team", "d"): 3, ("team", "e"): 6}
    counts |= {("team_class", "solo"): 6, ("team_class", "unclassified"): 9}
    cells = pl.DataFrame(
        [
            {
                "indicator": "x",
                "metric": "m",
                "period_type": "week",
                "period": "2026-W37",
                "cut": cut,
                "cut_value": value,
                "value": 1.0,
                "n_events": n,
                "n_actors": n,
            }
            for (cut, value), n in counts.items()
        ]
    )
    out = apply_k_threshold(cells, 5, team_classes=(("c", "solo"),))
    hidden = {(r["cut"], r["cut_value"]): r["suppression_reason"] for r in out.iter_rows(named=True) if r["suppressed"]}
    assert hidden[("team", "d")] == "too_few_people"
    assert ("team", "c") in hidden and hidden[("team_class", "solo")] == "protects_cut"
    assert ("lab", "all") not in hidden


def test_a_new_classing_recomputes_every_period_and_is_stored(tmp_path: Path) -> None:
    conn = _lab(tmp_path)
    first = run(conn, classes=CLASSES)
    assert first.full and team_classes.stored(conn) == CLASSES
    assert not run(conn).full  # nothing new, the same classes: nothing recomputed
    again = run(conn, classes=team_classes.from_classes({"safety": ["a", "b", "c"]}))
    assert again.full and team_classes.stored(conn) == (("a", "safety"), ("b", "safety"), ("c", "safety"))

"""Hooks speak plainly: every distinct problem is reported (rate-limited, not once per
exception type), in the terms of the public API and the field, and listed in
``stats()['last_errors']``."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest

from autoscope import agents
from autoscope.agents.error_report import ErrorReport

from .conftest import StubCollector, hook_settings


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "autoscope.agents" and r.levelno == logging.WARNING]


def test_two_different_mistakes_of_one_exception_type_are_both_reported(
    collector: StubCollector, caplog: pytest.LogCaptureFixture
) -> None:
    agents.configure(**hook_settings(collector.url))
    with caplog.at_level(logging.WARNING, logger="autoscope.agents"):
        for _ in range(5):  # the same mistake, again and again: one line
            assert agents.review("t-1", "approved", minutes="4") is None  # TypeError
        assert (
            agents.experiment(designed_by="ai", accelerator_hours="x", accelerator_type="h100", purpose="p") is None
        )  # TypeError too, another field
        with agents.task("analysis"):  # no human_minutes: a TypeError once more
            pass
    logged = warnings_of(caplog)
    assert len(logged) == 3, logged
    assert "agents.review(): minutes must be a number, got str" in logged[0]
    assert "agents.experiment(): accelerator_hours must be a number, got str" in logged[1]
    assert "agents.task(): human_minutes is required" in logged[2]
    assert not any("_finish_task" in line or "wrapper" in line for line in logged)

    stats = agents.stats()
    assert stats["errors"] == 7
    last = stats["last_errors"]
    assert [e["count"] for e in last] == [1, 1, 5]  # most recent first
    assert last[0]["message"].startswith("agents.task(): human_minutes is required")
    assert last[2]["message"].startswith("agents.review(): minutes")
    assert stats["last_error"] == last[0]["message"]
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(last[0]["time"])
    assert dt.timedelta(0) <= age < dt.timedelta(seconds=30)


def test_an_error_before_the_hooks_have_an_exporter_is_listed_too() -> None:
    from autoscope.agents import runtime

    runtime.record_error("agents.configure()", ValueError("collector_url must be http(s)://host[:port]"))
    stats = agents.stats()
    assert stats["errors"] == 1
    assert stats["last_errors"][0]["message"].startswith(
        "agents.configure(): collector_url must be http(s)://host[:port]"
    )
    assert stats["last_error"] == stats["last_errors"][0]["message"]


def test_a_problem_that_lasts_is_logged_again_after_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    report = ErrorReport(interval_s=0.2)
    with caplog.at_level(logging.WARNING, logger="autoscope.agents"):
        for _ in range(3):
            report.report("the collector does not answer")
        time.sleep(0.25)
        report.report("the collector does not answer")
        report.report("another problem")
    logged = warnings_of(caplog)
    assert logged == [
        "autoscope: the collector does not answer",
        logged[1],
        "autoscope: another problem",
    ]
    assert logged[1].startswith("autoscope: the collector does not answer (again 3 time(s) in the last")
    assert [(e["message"], e["count"]) for e in report.last_errors()] == [
        ("another problem", 1),
        ("the collector does not answer", 4),
    ]


def test_last_errors_is_bounded_and_a_key_groups_changing_messages() -> None:
    report = ErrorReport(keep=10, max_keys=20)
    for i in range(25):
        report.report(f"problem {i}")
    errors = report.last_errors()
    assert [e["message"] for e in errors] == [f"problem {i}" for i in range(24, 14, -1)]
    report.report("rejected 3 event(s)", key="rejected")
    report.report("rejected 5 event(s)", key="rejected")
    assert report.last_errors()[0] == {**report.last_errors()[0], "message": "rejected 5 event(s)", "count": 2}
    assert len(report._problems) == 20  # the rate limiter's memory is bounded too

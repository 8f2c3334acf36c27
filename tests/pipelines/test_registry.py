"""One indicator registry: every indicator module is in it once, and the job, the report and the
export all go by it."""

from __future__ import annotations

import pkgutil

import duckdb

from autoscope.pipelines import indicators, jobs
from autoscope.pipelines.indicators.cells import Scope
from autoscope.pipelines.indicators.registry import REGISTRY, IndicatorRows
from autoscope.pipelines.report.catalog import info_for
from autoscope.warehouse.schema import migrate


def test_every_indicator_module_is_registered_once() -> None:
    modules = {
        m.name
        for m in pkgutil.iter_modules(indicators.__path__)
        if hasattr(__import__(f"autoscope.pipelines.indicators.{m.name}", fromlist=["NAME"]), "NAME")
    }
    registered = [indicator.module_name for indicator in REGISTRY]
    assert sorted(registered) == sorted(modules)
    assert len({indicator.key for indicator in REGISTRY}) == len(REGISTRY)


def test_the_report_knows_every_indicator_the_job_stores() -> None:
    for indicator in REGISTRY:
        assert info_for(indicator.name) is indicator  # the report's words come from the same record
        assert indicator.name in indicator.names
    shapes = jobs.release_shapes()
    assert set(shapes["indicator"].to_list()) == {indicator.name for indicator in REGISTRY}


def test_one_compute_protocol_for_every_indicator() -> None:
    conn = duckdb.connect()
    migrate(conn)
    for indicator in REGISTRY:
        rows = indicator.compute(conn, Scope(("week",)), 5)
        assert isinstance(rows, IndicatorRows), indicator.key
        assert set(rows.frame["indicator"].unique().to_list()) <= {indicator.name}, indicator.key
        assert isinstance(rows.replicates, dict)

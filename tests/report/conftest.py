"""One run of the real demo (hooks → collector → Kafka → warehouse → indicator job) per session;
each test works on its own copy of the warehouse."""

from __future__ import annotations

import io
import shutil
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from autoscope.core.kafka_settings import ensure_topic


@pytest.fixture(scope="session")
def demo_dir(broker, tmp_path_factory) -> Path:
    """A data directory filled by ``run_demo``: 2026-W36..W43, i.e. 2026-Q3 and 2026-Q4."""
    from autoscope.demo import run_demo

    unique = uuid.uuid4().hex[:12]
    kafka = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"autoscope-test-{unique}")
    ensure_topic(kafka)
    data_dir = tmp_path_factory.mktemp("report-demo")
    run_demo(data_dir, kafka=kafka, console=Console(file=io.StringIO()))
    return data_dir


@pytest.fixture
def data_dir(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo's data directory (exports write audit rows into it)."""
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy2(demo_dir / "warehouse.duckdb", copy / "warehouse.duckdb")
    return copy

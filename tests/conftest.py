"""Shared fixtures: a real embedded broker (Tansu), a real PostgreSQL server (the DuckLake
catalog) and real DuckDB files under tmp_path; the suite's two sizes (hypothesis profiles,
tests/sizes.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from autoscope.broker import EmbeddedBroker
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from autoscope.postgres_dev import DevPostgres
from autoscope.warehouse.lake import LakeLocation

# The default size, ``ci``: hypothesis's own default of 100 examples is a tenth here, like every
# count tests/sizes.py scales, and the examples are the same every run (derandomize), so a CI
# verdict depends on the change, not on the draw. ``--hypothesis-profile=full`` selects the full
# size, which explores afresh each run.
settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    print_blob=True,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("full", max_examples=100, deadline=None, print_blob=True)
settings.load_profile("ci")  # before hypothesis's pytest plugin applies --hypothesis-profile


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One Tansu broker for the whole test session; tests isolate themselves by topic."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    """Settings pointing at the session broker, with a fresh topic and consumer group per test.

    A group of its own matters: consumer groups are broker-wide, and a member another test
    left behind would hold up every rebalance of a shared group until its session expired.
    """
    unique = uuid.uuid4().hex[:12]
    settings = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"autoscope-test-{unique}")
    ensure_topic(settings)
    return settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[DevPostgres]:
    """One PostgreSQL server per test session (per xdist worker), in a temporary directory.

    Started only by tests that ask for it; tests isolate themselves by database
    (:func:`postgres_database`). No skip when PostgreSQL is missing: .ci/run installs it.
    """
    with DevPostgres() as running:
        yield running


@pytest.fixture
def postgres_database(postgres: DevPostgres) -> str:
    """A fresh, empty database on the session server; its libpq DSN."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def lake_location(postgres_database: str, tmp_path: Path) -> LakeLocation:
    """An empty DuckLake: its catalog in a fresh PostgreSQL database, its data files under tmp_path."""
    return LakeLocation(catalog=f"postgres:{postgres_database}", data_path=str(tmp_path / "lake-data"))

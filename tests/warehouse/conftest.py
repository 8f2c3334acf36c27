"""Warehouse tests join consumer groups often: shorter group timings keep each join ~1.5 s."""

from __future__ import annotations

import dataclasses

import pytest

from autoscope.core.kafka_settings import KafkaSettings
from tests.warehouse.streams import FAST_GROUP


@pytest.fixture
def kafka(kafka: KafkaSettings) -> KafkaSettings:
    return dataclasses.replace(kafka, **FAST_GROUP)

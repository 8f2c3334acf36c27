"""The service's ingester loop: a failed ingester is closed, replaced, and never run again;
readers in the process wait for its replacement instead of reading a closed warehouse."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from autoscope.warehouse.ingester import Ingester

pytestmark = pytest.mark.integration


def test_a_failed_ingester_is_replaced_and_readers_get_the_new_one(
    kafka: KafkaSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[Ingester] = []
    run = Ingester.run

    def fails_the_first_time(self: Ingester, stop_event):  # type: ignore[no-untyped-def]
        runs.append(self)
        if len(runs) == 1:
            raise RuntimeError("the broker went away (simulated)")
        return run(self, stop_event)

    created: list[int] = []
    init = Ingester.__init__

    def cannot_start_the_second_time(self: Ingester, *args, **kwargs):  # type: ignore[no-untyped-def]
        created.append(1)
        if len(created) == 2:  # the first restart: Kafka still unreachable (simulated)
            raise ConnectionError("Kafka unreachable (simulated)")
        init(self, *args, **kwargs)

    monkeypatch.setattr(Ingester, "run", fails_the_first_time)
    monkeypatch.setattr(Ingester, "__init__", cannot_start_the_second_time)
    with Service(ServiceSettings(data_dir=tmp_path, port=0, grpc_port=0, kafka=kafka)) as service:
        deadline = time.monotonic() + 60
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(runs) == 2 and len(created) == 3, "a failed restart was retried"
        assert runs[0] is not runs[1], "a new ingester, not the closed one run again"
        cursor = service.cursor()
        try:
            assert cursor.execute("SELECT count(*) FROM event_ids").fetchall() == [(0,)]
        finally:
            cursor.close()
        assert service.ingester is runs[1]

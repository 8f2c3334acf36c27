"""A started collector freezes what startup made and collects young objects less often
(:mod:`autoscope.collector.garbage_collector`): checked in a fresh interpreter, since the
settings are the process's and are made once per process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import gc, json, sys
from pathlib import Path
from starlette.testclient import TestClient
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.core.kafka_settings import KafkaSettings

kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9", topic="gc-test")  # never reached
before = [gc.get_threshold()[0], gc.get_freeze_count()]
app = create_app(CollectorSettings(Path(sys.argv[1]), kafka))
created = [gc.get_threshold()[0], gc.get_freeze_count()]
with TestClient(app):
    started = [gc.get_threshold()[0], gc.get_freeze_count()]
print(json.dumps({"before": before, "created": created, "started": started}))
"""


def test_the_collector_tunes_the_garbage_collector_when_it_starts(tmp_path: Path) -> None:
    from autoscope.collector.garbage_collector import YOUNG_THRESHOLD

    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == [700, 0]  # CPython's defaults
    assert seen["created"] == [700, 0]  # making the app changes nothing: starting it does
    threshold, frozen = seen["started"]
    assert threshold == YOUNG_THRESHOLD
    assert frozen > 10_000  # the objects imports made: modules, classes, functions

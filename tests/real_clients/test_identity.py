"""The lab's identity map end to end (issue 12, item 4): Claude Code with an API key names only
an installation hash (``user.id``); mapped to its person in ``identity.people``, that person's
Claude Code work and the same person's GenAI program (which names them by ``user.email``) are
one actor in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoscope.collector.mapping.identity import IdentitySettings
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from tests.real_clients import expected as ex
from tests.real_clients.collector_replay import healthz, replay, wait_until_ingested

CLAUDE = "claude-code-shared-http-protobuf"
PERSON = "ada@lab.example"


def _install_ids(recording: str) -> set[str]:
    return {str(r.attrs["user.id"]) for r in ex.records(ex.load(recording)) if "user.id" in r.attrs}


def _named(request: Any) -> None:
    for resource in (*getattr(request, "resource_spans", ()), *getattr(request, "resource_metrics", ())):
        kv = resource.resource.attributes.add()
        kv.key, kv.value.string_value = "user.email", PERSON


def _actors(service: Service) -> int:
    cursor = service.cursor()
    try:
        return cursor.execute("SELECT count(DISTINCT actor) FROM spend").fetchone()[0]
    finally:
        cursor.close()


def test_an_installation_mapped_to_its_person_is_that_person(kafka: KafkaSettings, tmp_path: Path) -> None:
    (install,) = _install_ids(CLAUDE)
    otlp = OtlpSettings(identity=IdentitySettings(people={install: PERSON}))
    with Service(ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka, otlp=otlp)) as service:
        replay(service, CLAUDE)
        replay(service, "openai-v2-chat-http-protobuf", rewrite=_named)
        wait_until_ingested(service)
        assert _actors(service) == 1
        assert healthz(service)["otlp"]["otlp_events_without_identity"] == {}


def test_without_the_map_they_are_two(kafka: KafkaSettings, tmp_path: Path) -> None:
    with Service(ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka)) as service:
        replay(service, CLAUDE)
        replay(service, "openai-v2-chat-http-protobuf", rewrite=_named)
        wait_until_ingested(service)
        assert _actors(service) == 2

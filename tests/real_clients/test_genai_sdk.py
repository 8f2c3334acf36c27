"""The OpenTelemetry GenAI SDK instrumentation (``opentelemetry-instrumentation-openai-v2``),
replayed from its real recordings into a real service: it stores exactly the tokens that
``expected.py`` reads from the payload, with the README's recipe (``team`` only, no person),
nothing quarantined for the missing actor; and the operator is told, on ``/metrics``, in the
collector log and in ``autoscope status``, what to set (issue 12, item 4)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from autoscope.status import gather
from autoscope.status_view import render
from tests.real_clients import expected as ex
from tests.real_clients.collector_replay import healthz, metrics_text, replay, wait_until_ingested

RECORDINGS = [r for r in ex.recordings() if ex.client_of(r) == "openai-v2"]


def team_only(request: Any) -> None:
    """The README's recipe: OTEL_RESOURCE_ATTRIBUTES=team=… and nothing naming a person."""
    for resource in (*getattr(request, "resource_spans", ()), *getattr(request, "resource_metrics", ())):
        keep = [kv for kv in resource.resource.attributes if not kv.key.startswith("autoscope.actor")]
        del resource.resource.attributes[:]
        resource.resource.attributes.extend(keep)


@pytest.mark.parametrize("recording", RECORDINGS)
def test_the_sdks_tokens_are_stored_exactly_with_the_team_only_recipe(
    recording: str, kafka: KafkaSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sums = ex.expected(recording)
    with (
        caplog.at_level(logging.WARNING),
        Service(ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka)) as service,
    ):
        replay(service, recording, rewrite=team_only)
        wait_until_ingested(service)
        cursor = service.cursor()
        try:
            rows, actors, tokens = cursor.execute(
                "SELECT count(*), count(DISTINCT actor), [sum(input_tokens), sum(output_tokens)] FROM spend"
            ).fetchone()
        finally:
            cursor.close()
        health = healthz(service)
        metrics = metrics_text(service)
        status = gather(tmp_path / "data", collector_url=service.endpoint)
    # no less, no more: every successful call's usage once; the failed call has none
    assert tokens == [sums.tokens["input"], sums.tokens["output"]], recording
    assert rows == sums.model_calls - sums.failed_model_calls
    assert actors == 1  # the team's unidentified actor: one person for k-anonymity, never more
    assert health["rejected_by_field"] == {}, "nothing quarantined for a missing actor"
    assert not any((tmp_path / "data" / "quarantine").glob("**/*.json*"))
    # what the operator reads, in all three places
    assert f'autoscope_otlp_events_without_identity_total{{tool="lab-agent"}} {float(rows)}' in metrics
    assert any("no identity attribute" in r.getMessage() and "lab-agent" in r.getMessage() for r in caplog.records)
    out = io.StringIO()
    render(status, Console(file=out, width=200))
    assert "no identity" in out.getvalue() and "user.email" in out.getvalue() and "lab-agent" in out.getvalue()


def test_the_person_the_program_names_is_the_actor(kafka: KafkaSettings, tmp_path: Path) -> None:
    """With ``user.email`` on the resource (the documented recipe) nothing is unidentified."""

    def named(request: Any) -> None:
        team_only(request)
        for resource in getattr(request, "resource_spans", ()):
            kv = resource.resource.attributes.add()
            kv.key, kv.value.string_value = "user.email", "ada@lab.example"

    with Service(ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka)) as service:
        replay(service, "openai-v2-chat-http-protobuf", rewrite=named)
        wait_until_ingested(service)
        health = healthz(service)
    assert health["otlp"]["otlp_events_without_identity"] == {}

"""The lab's OTLP mapping settings reach a running collector: `[otlp]` of autoscope.toml names
the attributes that say who and which team, and a bad key stops the collector from starting."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from autoscope.cli import main
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.server_config import ConfigError, load_otlp_settings, load_warehouse
from autoscope.service import Service, ServiceSettings
from autoscope.warehouse.lake import LakeLocation

pytestmark = pytest.mark.integration

CONFIG = """
[agents]
team = "ignored-by-the-collector"

[otlp.identity]
actor_attributes = ["lab.person"]
team_attributes = ["lab.group"]

[otlp.task_defaults]
human_minutes = 42
"""


def attrs(values: dict[str, str]) -> list[dict[str, object]]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def agent_span(span_id: str, person: str) -> dict[str, object]:
    return {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": span_id,
        "name": "invoke_agent helper",
        "startTimeUnixNano": "1790000000000000000",
        "endTimeUnixNano": "1790000009000000000",
        "attributes": attrs(
            {"gen_ai.operation.name": "invoke_agent", "lab.person": person, "user.email": "someone.else@lab.example"}
        ),
    }


def test_the_configured_identity_attributes_are_used(kafka: KafkaSettings, tmp_path: Path) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text(CONFIG)
    settings = ServiceSettings(
        data_dir=tmp_path / "data", port=0, grpc_port=None, kafka=kafka, otlp=load_otlp_settings(config)
    )
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs({"service.name": "helper-agent", "lab.group": "alignment"})},
                "scopeSpans": [{"spans": [agent_span(f"{i:016x}", f"person-{i % 5}") for i in range(1, 11)]}],
            }
        ]
    }
    with Service(settings).start() as service:
        answer = httpx.post(f"{service.endpoint}/v1/traces", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        deadline, rows = time.monotonic() + 30, []
        while time.monotonic() < deadline and len(rows) < 10:
            cursor = service.cursor()
            rows = cursor.execute("SELECT team, actor, human_minutes FROM tasks").fetchall()
            cursor.close()
            time.sleep(0.2)
    assert len(rows) == 10
    assert {team for team, _, _ in rows} == {"alignment"}, "the team from lab.group"
    assert len({actor for _, actor, _ in rows}) == 5, "the actor from lab.person, not user.email"
    assert {minutes for _, _, minutes in rows} == {42.0}


def test_a_bad_setting_names_the_key_and_stops_the_collector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text('[otlp.identity]\nactor_attribute = ["user.id"]\n')
    with pytest.raises(ConfigError, match="actor_attribute"):
        load_otlp_settings(config)
    assert main(["up", "--data-dir", str(tmp_path / "data"), "--config", str(config)]) == 2
    assert "actor_attribute" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="--grpc-port"):
        config.write_text("[otlp]\ngrpc_port = 1\n")
        load_otlp_settings(config)


def test_grpc_workers_stay_settable_in_the_otlp_section(tmp_path: Path) -> None:
    """Where gRPC listens is GrpcSettings, not the mapping's; ``[otlp] grpc_workers`` still sets
    its threads, and does not trouble the mapping settings read from the same section."""
    from autoscope.server_config import load_grpc_workers

    config = tmp_path / "autoscope.toml"
    config.write_text('[otlp]\ngrpc_workers = 3\nclaude_code_usage_from = "metrics"\n')
    assert load_grpc_workers(config) == 3
    assert load_otlp_settings(config).claude_code_usage_from == "metrics"
    assert load_grpc_workers(None) == 8
    config.write_text('[otlp]\ngrpc_workers = "many"\n')
    with pytest.raises(ConfigError, match="otlp.grpc_workers"):
        load_grpc_workers(config)


def test_the_price_table_is_read_from_the_otlp_section_and_a_bad_price_is_named(tmp_path: Path) -> None:
    """``[otlp.prices]`` replaces the shipped list prices; a bad entry names the model and key."""
    from autoscope.collector.mapping.prices import DEFAULT_PRICES, ModelPrice, find_price

    config = tmp_path / "autoscope.toml"
    config.write_text('[otlp.prices]\n"gpt-5.1-codex" = { input = 2.0, output = 8.0, cache_read = 0.5 }\n')
    prices = load_otlp_settings(config).prices
    assert prices == {"gpt-5.1-codex": ModelPrice(input=2.0, output=8.0, cache_read=0.5)}
    assert find_price(prices, "gpt-5.1-codex-max") == prices["gpt-5.1-codex"], "the longest prefix"
    assert find_price(prices, "gemini-2.5-pro") is None, "a configured table replaces the defaults"
    assert load_otlp_settings(None).prices == DEFAULT_PRICES
    config.write_text('[otlp.prices]\n"m" = { input = -1, output = 8.0 }\n')
    with pytest.raises(ConfigError, match=r"otlp.prices.m: price input must be a number ≥ 0"):
        load_otlp_settings(config)
    config.write_text('[otlp.prices]\n"m" = { input = 1, outptu = 8.0 }\n')
    with pytest.raises(ConfigError, match=r"otlp.prices.m: unknown key\(s\) outptu"):
        load_otlp_settings(config)


# -- [warehouse]: which backend ------------------------------------------------------------


def test_without_a_warehouse_section_the_backend_is_the_file(tmp_path: Path, monkeypatch) -> None:
    for key in ("BACKEND", "CATALOG", "DATA_PATH"):
        monkeypatch.delenv(f"AUTOSCOPE_WAREHOUSE_{key}", raising=False)
    path = tmp_path / "autoscope.toml"
    path.write_text(CONFIG)
    assert load_warehouse(path) is None
    assert load_warehouse(None) is None


def test_a_ducklake_section_gives_its_location_and_the_environment_overrides_it(tmp_path: Path, monkeypatch) -> None:
    for key in ("BACKEND", "CATALOG", "DATA_PATH"):
        monkeypatch.delenv(f"AUTOSCOPE_WAREHOUSE_{key}", raising=False)
    path = tmp_path / "autoscope.toml"
    path.write_text('[warehouse]\nbackend = "ducklake"\ncatalog = "postgres:dbname=lake"\ndata_path = "/srv/lake"\n')
    assert load_warehouse(path) == LakeLocation("postgres:dbname=lake", "/srv/lake")
    monkeypatch.setenv("AUTOSCOPE_WAREHOUSE_DATA_PATH", "s3://bucket/lake/")
    assert load_warehouse(path) == LakeLocation("postgres:dbname=lake", "s3://bucket/lake/")
    monkeypatch.setenv("AUTOSCOPE_WAREHOUSE_BACKEND", "file")
    assert load_warehouse(path) is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('backend = "lake"', "warehouse.backend must be one of file, ducklake; got 'lake'"),
        ('backend = "ducklake"\ndata_path = "/srv/lake"', "warehouse.catalog is required"),
        ('backend = "ducklake"\ncatalog = "postgres:dbname=x"', "warehouse.data_path is required"),
        ('backend = "ducklake"\ncatalogue = "x"', "warehouse.catalogue: unknown key"),
        ("backend = 1", "warehouse.backend must be a string"),
    ],
)
def test_a_bad_warehouse_section_names_the_key(tmp_path: Path, monkeypatch, section: str, message: str) -> None:
    for key in ("BACKEND", "CATALOG", "DATA_PATH"):
        monkeypatch.delenv(f"AUTOSCOPE_WAREHOUSE_{key}", raising=False)
    path = tmp_path / "autoscope.toml"
    path.write_text(f"[warehouse]\n{section}\n")
    with pytest.raises(ConfigError, match=message):
        load_warehouse(path)

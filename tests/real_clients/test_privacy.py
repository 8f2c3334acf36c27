"""Privacy (issue 12, item 7): whatever a client puts where, prompt text, command lines, tool
arguments and tool output are never stored.

EVERY recording is replayed, over its own transport, into one real service (collector, the
embedded broker, the ingester, a DuckDB file); then the texts the recordings really carry in
clear are looked for in every file under the data directory (spool, quarantine, keys, logs,
the DuckDB file and its WAL), in every text column of every warehouse table (DuckDB may
compress strings in its file), in every Kafka message on the topic (the spool's records as
forwarded: the spool deletes a segment once Kafka has it) and in everything the collector
logged. The needles are read from the recordings themselves (Gemini CLI's resource
``process.command_args`` holds the prompt; Codex's ``codex.tool_result`` the tool's arguments
and output; Gemini's ``gen_ai.*`` the system instructions and tool descriptions), and the test
first checks that each is really in the recorded bytes, so it could fail.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from autoscope.collector.mapping.identity import IdentitySettings
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from tests.real_clients import expected as ex
from tests.real_clients.collector_replay import replay, wait_until_ingested

#: free text the recordings carry that is not read from one attribute by name: the Gemini
#: CLI's system instructions and tool descriptions (gen_ai.* attributes of its spans/events)
#: and an error text, and the node command line's flag
FIXED_NEEDLES = (
    "You are Gemini CLI",
    "This tool executes a given shell command",
    "not found. Did you mean",
    "--max-old-space-size",
)
MIN_NEEDLE = 8  # shorter pieces (e.g. "-p") could match innocently


def _pieces(value: object) -> set[str]:
    """The needles one sensitive attribute gives: its text, and each line and JSON string in it."""
    out: set[str] = set()
    if isinstance(value, list):
        for item in value:
            out |= _pieces(item)
        return out
    text = str(value)
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        for item in decoded.values():
            out |= _pieces(item)
    for line in text.splitlines():
        if len(line.strip()) >= MIN_NEEDLE:
            out.add(line.strip())
    return out


def sensitive_texts() -> set[str]:
    """Prompt texts, command lines, tool arguments and outputs, from the recordings."""
    needles = set(FIXED_NEEDLES)
    for recording in ex.recordings():
        for record in ex.records(ex.load(recording)):
            args = record.resource.get("process.command_args")
            if isinstance(args, list) and "-p" in args:  # gemini -p "<the prompt>"
                needles.add(str(args[args.index("-p") + 1]))
            if record.kind == "log" and record.name == "codex.tool_result":
                needles |= _pieces(record.attrs.get("arguments"))
                needles |= _pieces(record.attrs.get("output"))
            for key in ("function_args", "tool_parameters", "tool_input"):
                if key in record.attrs:
                    needles |= _pieces(record.attrs[key])
            for key in ("prompt",):
                value = str(record.attrs.get(key, ""))
                if value and "REDACTED" not in value:
                    needles.add(value)
    # a piece that is only a path or a generic word would be no evidence either way
    return {n for n in needles if len(n) >= MIN_NEEDLE and n not in ("/usr/bin/node",)}


def recorded_bytes() -> bytes:
    parts = []
    for head in ex.FIXTURES.glob("*.headers.json"):
        parts.append(ex.read_body(ex.FIXTURES / head.name[: -len(".headers.json")])[1])
    return b"\n".join(parts)


def _variants(needle: str) -> list[bytes]:
    """The needle as stored in UTF-8, and as JSON would escape it."""
    return list({needle.encode(), json.dumps(needle)[1:-1].encode()})


def test_the_needles_are_really_in_the_recordings() -> None:
    needles = sensitive_texts()
    assert len(needles) >= 10, needles
    assert "Create hello.py, improve it and commit it" in needles  # Gemini's prompt, on every resource
    assert any("git commit" in n for n in needles)  # a Codex tool argument
    recorded = recorded_bytes()
    missing = [n for n in needles if not any(v in recorded for v in _variants(n))]
    assert not missing, missing


@pytest.fixture(scope="module", params=["kept", "quarantined"])
def replayed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, broker: object) -> dict:
    """Every recording replayed into one service; what it left behind. Twice: with the default
    settings, and with records that name no person quarantined (``unidentified_actor = ""``),
    so that the quarantine holds events made from these recordings and is searched too."""
    from autoscope.core.kafka_settings import ensure_topic

    mode = request.param
    data_dir = tmp_path_factory.mktemp(f"privacy-{mode}") / "data"
    kafka: KafkaSettings = broker.settings(
        topic=f"autoscope.test.privacy.{mode}",  # type: ignore[attr-defined]
        consumer_group=f"autoscope-test-privacy-{mode}",
    )
    ensure_topic(kafka)
    otlp = OtlpSettings(identity=IdentitySettings(unidentified_actor="")) if mode == "quarantined" else OtlpSettings()
    handler = _Capture()
    logging.getLogger().addHandler(handler)
    try:
        with Service(ServiceSettings(data_dir=data_dir, port=0, grpc_port=0, kafka=kafka, otlp=otlp)) as service:
            sent = sum(replay(service, recording) for recording in ex.recordings())
            stored = wait_until_ingested(service)
            cursor = service.cursor()
            try:
                texts = _warehouse_texts(cursor)
            finally:
                cursor.close()
    finally:
        logging.getLogger().removeHandler(handler)
    return {
        "mode": mode,
        "data_dir": data_dir,
        "sent": sent,
        "stored": stored,
        "texts": texts,
        "kafka": _kafka_messages(kafka),
        "log": "\n".join(handler.lines),
    }


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _warehouse_texts(cursor: object) -> list[str]:
    columns = cursor.execute(  # type: ignore[attr-defined]
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type LIKE 'VARCHAR%' OR data_type LIKE '%[]' OR data_type = 'JSON'"
    ).fetchall()
    texts = []
    for table, column in columns:
        for (value,) in cursor.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"').fetchall():  # type: ignore[attr-defined]
            if value is not None:
                texts.append(value)
    return texts


def _kafka_messages(kafka: KafkaSettings) -> list[bytes]:
    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=2000, **kafka.client_kwargs()
    )
    try:
        return [(m.key or b"") + b"\n" + (m.value or b"") for m in consumer]
    finally:
        consumer.close()


def test_every_recording_was_replayed_and_stored(replayed: dict) -> None:
    assert replayed["sent"] == sum(len(ex.load(r)) for r in ex.recordings())
    assert replayed["stored"] > 0 and len(replayed["kafka"]) > 0
    quarantined = [p for p in (replayed["data_dir"] / "quarantine").rglob("*") if p.is_file()]
    assert bool(quarantined) == (replayed["mode"] == "quarantined")


def test_no_file_under_the_data_dir_holds_a_prompt_command_line_or_tool_text(replayed: dict) -> None:
    data_dir: Path = replayed["data_dir"]
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files)
    found = [
        (str(p.relative_to(data_dir)), n)
        for p in files
        for n in sensitive_texts()
        if any(v in p.read_bytes() for v in _variants(n))
    ]
    assert not found, found


def test_no_warehouse_text_kafka_message_or_log_line_holds_one(replayed: dict) -> None:
    needles = sensitive_texts()
    in_tables = [n for n in needles for text in replayed["texts"] if n in text]
    assert not in_tables, in_tables
    in_kafka = [n for n in needles for message in replayed["kafka"] if any(v in message for v in _variants(n))]
    assert not in_kafka, in_kafka
    in_log = [n for n in needles if n in replayed["log"]]
    assert not in_log, in_log

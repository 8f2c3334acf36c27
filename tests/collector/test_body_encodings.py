"""What the body decoders take, not only what they refuse: a UTF-8 byte-order mark, raw
deflate, several codings in one header, x-gzip; and what they name when they refuse."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.codecs.content import decode_content
from autoscope.collector.codecs.json_text import utf8_json
from autoscope.collector.pipeline import Refusal
from autoscope.core.kafka_settings import KafkaSettings
from tests.event_samples import event

pytestmark = pytest.mark.integration


@pytest.fixture
def client(kafka: KafkaSettings, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(CollectorSettings(tmp_path, kafka))) as test_client:
        yield test_client


def batch() -> bytes:
    return json.dumps([event("task", event_id=str(uuid.uuid4()))]).encode()


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b"\xef\xbb\xbf" + batch(), None),
        (zlib.compress(batch())[2:-4], "deflate"),  # raw deflate, without zlib's header
        (gzip.compress(gzip.compress(batch())), "gzip, gzip"),
        (gzip.compress(batch()), "x-gzip"),
        (gzip.compress(batch()), "identity, gzip"),
    ],
    ids=["utf-8 BOM", "raw deflate", "gzip, gzip", "x-gzip", "identity, gzip"],
)
def test_bodies_a_lenient_reader_takes_are_accepted(client: TestClient, body: bytes, encoding: str | None) -> None:
    headers = {"content-type": "application/json"}
    if encoding:
        headers["content-encoding"] = encoding
    response = client.post("/v1/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ('[{"a":1}]'.encode("utf-16"), "UTF-16LE"),
        ('[{"a":1}]'.encode("utf-16-be"), "UTF-16BE"),
        ('[{"a":1}]'.encode("utf-32"), "UTF-32LE"),
        ('[{"a":1}]'.encode("utf-32-be"), "UTF-32BE"),
    ],
)
def test_json_in_another_encoding_is_refused_naming_it(body: bytes, name: str) -> None:
    refusal = utf8_json(body)
    assert isinstance(refusal, Refusal) and refusal.status == 400 and name in refusal.reason


def test_a_charset_other_than_utf8_is_415() -> None:
    refusal = utf8_json(b"[]", "application/json; charset=ISO-8859-1")
    assert isinstance(refusal, Refusal) and refusal.status == 415 and "iso-8859-1" in refusal.reason
    assert utf8_json(b"[]", 'application/json; charset="UTF-8"') == b"[]"


def test_content_codings_refused_name_the_problem() -> None:
    limit = 1 << 20
    br = decode_content(b"x", "br", limit)
    assert isinstance(br, Refusal) and br.status == 415 and "'br'" in br.reason and "gzip" in br.reason
    many = decode_content(b"x", "gzip, gzip, gzip, gzip", limit)
    assert isinstance(many, Refusal) and many.status == 415 and "at most 3" in many.reason
    twice = decode_content(gzip.compress(gzip.compress(b"[]")), "gzip", limit)
    assert isinstance(twice, Refusal) and twice.status == 400 and "gzip-compressed" in twice.reason
    bomb = decode_content(gzip.compress(gzip.compress(b" " * (4 * limit))), "gzip, gzip", limit)
    assert isinstance(bomb, Refusal) and bomb.status == 413

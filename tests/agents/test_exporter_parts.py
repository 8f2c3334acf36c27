"""The exporter's parts on their own: the delivery policy over any Transport (event dicts in,
a Reply out), and what each transport puts on the wire (issue 15 item 3)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from autoscope import agents
from autoscope.agents import delivery, runtime
from autoscope.agents.config import load_settings
from autoscope.agents.counters import Counters
from autoscope.agents.delivery import DeliveryPolicy
from autoscope.agents.transport import Refused, Reply, Transport

from .conftest import StubCollector, hook_settings


class Scripted:
    """A Transport that records the batches it is given and answers by ``judge``."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.batches: list[list[Mapping[str, Any]]] = []
        self.closed = False

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        self.batches.append(list(events))
        return self.judge(events)

    def close(self) -> None:
        self.closed = True


def policy_with(
    transport: Transport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[DeliveryPolicy, Counters]:
    monkeypatch.setattr(delivery, "make_transport", lambda settings: (transport, ""))
    settings = load_settings(
        collector_url="http://127.0.0.1:9",
        team="t",
        actor="a@lab.example",
        tool="test",
        spool_dir=tmp_path / "spool",
        spool_after_s=0.1,
    )
    counters = Counters()
    return DeliveryPolicy(settings, counters, threading.Event(), lambda: False), counters


def events(n: int) -> list[dict[str, Any]]:
    return [{"event_id": f"e-{i}", "type": "review"} for i in range(n)]


def test_the_transport_is_given_the_submitted_dicts_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No JSON round trip on the way out: what the queue hands over reaches the transport."""
    transport = Scripted(lambda batch: Reply(accepted=len(batch)))
    policy, counters = policy_with(transport, tmp_path, monkeypatch)
    batch = events(3)
    policy.export(batch)
    (sent,) = transport.batches
    assert all(given is original for given, original in zip(sent, batch, strict=True))
    assert counters.snapshot()["sent"] == 3
    policy.close()
    assert transport.closed


def test_a_batch_too_large_is_halved_down_to_the_event_at_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def judge(batch: Sequence[Mapping[str, Any]]) -> Reply:
        if any(event["event_id"] == "e-5" for event in batch):
            return Reply(refused=Refused.TOO_LARGE, status=413, detail="HTTP 413: too large")
        return Reply(accepted=len(batch))

    transport = Scripted(judge)
    policy, counters = policy_with(transport, tmp_path, monkeypatch)
    policy.export(events(8))
    stats = counters.snapshot()
    assert (stats["sent"], stats["rejected"], stats["spooled"], stats["dropped"]) == (7, 1, 0, 0)
    assert [b[0]["event_id"] for b in transport.batches if len(b) == 1][-1] == "e-5"  # alone at last
    (aside,) = (tmp_path / "spool").rglob("refused/seg-*.jsonl")
    (record,) = [json.loads(line) for line in aside.read_text().splitlines()]
    assert record["event"]["event_id"] == "e-5" and record["answer"] == "HTTP 413: too large"
    assert not [p for p in (tmp_path / "spool").rglob("seg-*.jsonl") if p.parent.name != "refused"]


def test_offline_then_back_resends_the_kept_dicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept in the spool as JSON lines while the collector is down; re-sent as dicts after."""
    up = threading.Event()
    transport = Scripted(
        lambda batch: (
            Reply(accepted=len(batch)) if up.is_set() else Reply(retry=True, detail="collector unreachable: refused")
        )
    )
    policy, counters = policy_with(transport, tmp_path, monkeypatch)
    policy.export(events(4))
    assert counters.snapshot()["spooled"] == 4 and policy.has_pending()
    up.set()
    policy._probe_at = 0.0  # the next probe is due now rather than in a second
    policy.resend()
    assert counters.snapshot()["sent"] == 4 and not policy.has_pending()
    assert [e["event_id"] for e in transport.batches[-1]] == [e["event_id"] for e in events(4)]


def test_an_event_the_transport_cannot_write_is_set_aside_not_lost(collector: StubCollector, tmp_path: Path) -> None:
    """Not JSON (a NaN slipped past the hooks' checks): split out of its batch and set aside
    with the reason, while the rest of the batch is delivered."""
    agents.configure(**hook_settings(collector.url, transport="native"))
    good = [agents.review("t1", "approved", minutes=1) for _ in range(3)]
    runtime.current().submit({"event_id": "bad-1", "type": "review", "minutes": float("nan")})
    assert agents.flush(10)
    stats = agents.stats()
    assert sorted(collector.accepted_ids()) == sorted(good)
    assert (stats["sent"], stats["rejected"], stats["dropped"]) == (3, 1, 0)
    (aside,) = (tmp_path / "spool").rglob("refused/seg-*.jsonl")
    (record,) = [json.loads(line) for line in aside.read_text().splitlines()]
    assert record["event"]["event_id"] == "bad-1" and "not writable as JSON" in record["answer"]


PROBE = """
import json, sys
from autoscope import agents
agents.configure(collector_url=sys.argv[1], token="s3cret", team="t", actor="a@lab.example", tool="probe",
                 tool_version="2.0", transport="otlp", schedule_delay_s=0.05)
agents.review("t1", "approved", minutes=1)
with agents.task("analysis", human_minutes=5):
    pass
agents.flush(10)
heavy = sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter", "requests")))
print(json.dumps({"stats": agents.stats(), "heavy": heavy}))
"""


def test_the_otlp_transport_needs_neither_the_sdk_nor_its_exporter(collector: StubCollector) -> None:
    """Records are built from the dicts with opentelemetry-proto and posted directly: no private
    LoggerProvider, no OTLPLogExporter and its requests session, in the tool's process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, collector.url], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], result
    assert result["stats"]["sent"] == 2 and result["stats"]["errors"] == 0, (result, done.stderr[-2000:])
    (request,) = collector.requests
    assert request["path"] == "/v1/logs"
    records = request["log_records"]
    assert [r["event_name"] for r in records] == ["autoscope.review", "autoscope.task"]
    assert all(r["resource"] == {"service.name": "probe", "service.version": "2.0"} for r in records)
    assert {r["scope"] for r in records} == {"autoscope.agents"}


class ForwardProxy:
    """A plain-HTTP forward proxy: takes absolute-URI requests and forwards them."""

    def __init__(self) -> None:
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.seen: list[tuple[str, str | None]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                import urllib.parse

                proxy.seen.append((self.path, self.headers.get("Proxy-Authorization")))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = urllib.parse.urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
                upstream.request("POST", target.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://user:p%40ss@127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_both_transports_go_through_the_proxy_the_environment_names(
    collector: StubCollector, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """As requests did for the OTLP transport before: HTTP_PROXY is used, NO_PROXY respected."""
    proxy = ForwardProxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        agents.configure(**hook_settings(collector.url, transport=transport))
        first = agents.review("t1", "approved", minutes=1)
        assert agents.flush(10)
        path = {"otlp": "/v1/logs", "native": "/v1/events"}[transport]
        assert proxy.seen == [(collector.url + path, "Basic dXNlcjpwQHNz")]  # user:p@ss
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        agents.configure(**hook_settings(collector.url, transport=transport))
        second = agents.review("t1", "approved", minutes=1)
        assert agents.flush(10)
        assert len(proxy.seen) == 1  # straight to the collector this time
        assert collector.accepted_ids() == [first, second]
    finally:
        proxy.stop()

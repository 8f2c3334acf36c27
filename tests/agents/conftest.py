"""A small real collector for the hook tests: an HTTP server in a thread that validates
events with the real contract, answers like the native receiver, and can be scripted to
refuse, ask for a retry, stall, or be down."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from autoscope import agents
from autoscope.agents import runtime
from autoscope.collector.contract import ContractError, convert_event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StubCollector:
    """Records every request; ``script`` holds (status, headers) answers to give first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.requests: list[dict[str, object]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.release = threading.Event()
        self.release.set()  # clear it to make requests stall until set
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- what arrived --------------------------------------------------------------
    @property
    def accepted(self) -> list[dict[str, object]]:
        """Events answered as accepted, in arrival order."""
        with self.lock:
            return [e for r in self.requests for e in r["accepted"]]  # type: ignore[attr-defined]

    def accepted_ids(self) -> list[str]:
        return [str(e["event_id"]) for e in self.accepted]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return True
            time.sleep(0.02)
        return False

    # --- running -------------------------------------------------------------------
    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.release.wait(30)
                with stub.lock:
                    scripted = stub.script.pop(0) if stub.script else None
                record: dict[str, object] = {
                    "path": self.path, "headers": dict(self.headers), "body": body, "accepted": [],
                    "time": time.monotonic(),
                }
                if scripted is not None:
                    status, headers = scripted
                    answer: object = {"error": {"field": "body", "reason": "scripted"}}
                else:
                    status, headers, answer = stub.judge(json.loads(body), record)
                with stub.lock:
                    stub.requests.append(record)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def judge(self, events: list[dict[str, object]], record: dict[str, object]):
        """Validate like the native receiver: 200, 207 or 400 with per-event results."""
        results = []
        for index, event in enumerate(events):
            try:
                convert_event(event)
            except ContractError as exc:
                results.append({"index": index, "event_id": event.get("event_id"),
                                "status": "rejected",
                                "error": {"field": exc.field, "reason": exc.reason}})
            else:
                record["accepted"].append(event)  # type: ignore[attr-defined]
                results.append({"index": index, "event_id": event["event_id"], "status": "accepted"})
        rejected = sum(r["status"] == "rejected" for r in results)
        accepted = len(results) - rejected
        status = 200 if not rejected else (207 if accepted else 400)
        return status, {}, {"accepted": accepted, "rejected": rejected, "results": results}

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(autouse=True)
def isolated_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts unconfigured, with its own spool and no config file or env."""
    for name in ("AUTOSCOPE_COLLECTOR_URL", "AUTOSCOPE_TOKEN", "AUTOSCOPE_TEAM", "AUTOSCOPE_TOOL",
                 "AUTOSCOPE_TOOL_VERSION", "AUTOSCOPE_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOSCOPE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("AUTOSCOPE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setattr(runtime, "_exporter", None)
    monkeypatch.setattr(runtime, "_unattributed_errors", 0)
    yield
    agents.shutdown(timeout_s=5)


@pytest.fixture
def collector() -> Iterator[StubCollector]:
    stub = StubCollector(free_port())
    stub.start()
    yield stub
    stub.stop()


def hook_settings(url: str, **overrides: object) -> dict[str, object]:
    """configure() arguments for fast tests."""
    return {
        "collector_url": url, "token": "s3cret", "team": "pretraining", "tool": "test-tool",
        "tool_version": "1.0", "actor": "ada@lab.example", "schedule_delay_s": 0.05,
        "spool_after_s": 0.5, **overrides,
    }

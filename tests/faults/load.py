"""A small load generator for fault tests: threads posting native batches, recording 2xx ids."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid

from tests.event_samples import event


class Load:
    """Post batches of ``batch_size`` task events from ``threads`` threads to ``port``.

    Every event id the collector answered 2xx for is in :attr:`acknowledged`; ids of
    requests that got no answer (the collector died mid-request) are in :attr:`unanswered`.
    """

    def __init__(self, port: int, threads: int = 4, batch_size: int = 50, token: str | None = None) -> None:
        self.port = port
        self.batch_size = batch_size
        self.token = token
        self.acknowledged: set[str] = set()
        self.unanswered: set[str] = set()
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            batch = [event("task", event_id=str(uuid.uuid4())) for _ in range(self.batch_size)]
            ids = {e["event_id"] for e in batch}
            headers = {"content-type": "application/json"}
            if self.token:
                headers["authorization"] = f"Bearer {self.token}"
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("POST", "/v1/events", json.dumps(batch), headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                with self._lock:
                    self.unanswered |= ids
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(0.05)
                continue
            with self._lock:
                self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
                if 200 <= response.status < 300:
                    self.acknowledged |= ids
            if response.status in (429, 503):
                time.sleep(float(response.getheader("retry-after", "1")))

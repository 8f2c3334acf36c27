"""One persistent HTTP connection to the collector's ``POST /v1/events``, and what its
answer means for the batch.

* 200: every event accepted. 207 (or 400 with per-event results): some rejected, for good.
* 400/413/415 without results, 401/403 and other 4xx: the batch is refused for good.
* 408/429/5xx and connection errors: retry later, after ``Retry-After`` when given.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http.client
import json
import time
import urllib.parse

RETRYABLE = {408, 425, 429}
#: a collector that does not even accept the connection in this long is treated as down: a
#: silently dropped SYN would otherwise hold the exporter for the whole export timeout while the
#: tool's events pile up in the queue
CONNECT_TIMEOUT_S = 2.0


@dataclasses.dataclass(frozen=True)
class Reply:
    """What became of a batch of ``accepted + rejected`` events, or that it must be re-sent."""

    accepted: int = 0
    rejected: int = 0
    retry: bool = False
    retry_after_s: float | None = None
    detail: str = ""


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _per_event(body: bytes, count: int, status: int) -> Reply:
    """A 207/400 answer with per-event results; the whole batch rejected if it has none."""
    try:
        answer = json.loads(body)
        accepted, rejected = int(answer["accepted"]), int(answer["rejected"])
        errors = [r.get("error") for r in answer.get("results", []) if r.get("status") == "rejected"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return Reply(rejected=count, detail=f"HTTP {status}: {body[:200]!r}")
    first = errors[0] if errors else None
    detail = f"{first.get('field')}: {first.get('reason')}" if isinstance(first, dict) else ""
    return Reply(accepted=accepted, rejected=rejected, detail=detail)


class Transport:
    """Posts JSON batches to ``{collector_url}/v1/events`` over one kept-alive connection."""

    def __init__(self, collector_url: str, token: str | None, timeout_s: float) -> None:
        url = urllib.parse.urlsplit(collector_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"collector_url must be http(s)://host[:port], got {collector_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._path = url.path.rstrip("/") + "/v1/events"
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=min(CONNECT_TIMEOUT_S, self._timeout_s))
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(self._timeout_s)  # connected: the answer may take longer
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _exchange(self, body: bytes) -> tuple[int, str | None, bytes]:
        connection = self._connect()
        try:
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, response.getheader("Retry-After"), data

    def send(self, lines: list[bytes]) -> Reply:
        """Send JSON-encoded events as one batch; never raises."""
        return self.post(b"[" + b",".join(lines) + b"]", len(lines))

    def post(self, body: bytes, count: int) -> Reply:
        """Send one batch of ``count`` events; never raises."""
        try:
            reused = self._connection is not None
            try:
                status, retry_after_header, data = self._exchange(body)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # the server closed an idle kept-alive connection: once more on a new one
                status, retry_after_header, data = self._exchange(body)
        except (OSError, http.client.HTTPException) as exc:
            return Reply(retry=True, detail=f"collector unreachable: {exc!r}")
        if status == 200:
            return Reply(accepted=count)
        if status == 207 or status == 400:
            return _per_event(data, count, status)
        if status in RETRYABLE or status >= 500:
            return Reply(retry=True, retry_after_s=retry_after(retry_after_header), detail=f"HTTP {status}")
        return Reply(rejected=count, detail=f"HTTP {status}: {data[:200]!r}")

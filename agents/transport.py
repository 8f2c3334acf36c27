"""One persistent HTTP connection to the collector's ``POST /v1/events``, and what its
answer means for the batch (the exporter acts on it; the table is in agents/README.md):

* 200: every event accepted. 207 (or 400 with per-event results): some rejected, for good
  (the collector keeps them in its quarantine).
* 401/403: refused for want of a valid token (:attr:`Refused.UNAUTHORIZED`).
* 413: the batch is too large (:attr:`Refused.TOO_LARGE`); 400 without per-event results:
  the body could not be read (:attr:`Refused.MALFORMED`). Both are split and re-sent.
* 408/425/429/5xx, connection errors and timeouts: retry later, after ``Retry-After`` when
  given.
* anything else (404, 405, 415, a redirect …): what answers at ``collector_url`` does not
  take these events (:attr:`Refused.MISDIRECTED`).
"""

from __future__ import annotations

import dataclasses
import email.utils
import enum
import http.client
import json
import re
import time
import urllib.parse

RETRYABLE = {408, 425, 429}
#: the start of the hooks' User-Agent; the collector reads the tool from ``tool=`` in it
USER_AGENT_PRODUCT = "autoscope-agents"


def user_agent(tool: str) -> str:
    """The hooks' User-Agent, naming the tool they report for (as a label: a header is ASCII)."""
    return f"{USER_AGENT_PRODUCT} (tool={re.sub(r'[^A-Za-z0-9_.:/+-]', '_', tool)[:64]})"
#: a collector that does not even accept the connection in this long is treated as down: a
#: silently dropped SYN would otherwise hold the exporter for the whole export timeout while the
#: tool's events pile up in the queue
CONNECT_TIMEOUT_S = 2.0


class Refused(enum.StrEnum):
    """Why the collector refused a whole batch without judging its events one by one."""

    #: 401/403: the token is missing, unknown, revoked or lacks the ``ingest`` scope
    UNAUTHORIZED = "unauthorized"
    #: 413: over the collector's body or batch limit
    TOO_LARGE = "too_large"
    #: 400 without per-event results: the collector could not read the body
    MALFORMED = "malformed"
    #: any other answer that is neither success nor "retry later": not the collector's API
    MISDIRECTED = "misdirected"


@dataclasses.dataclass(frozen=True)
class Reply:
    """What became of a batch of ``accepted + rejected`` events, that it must be re-sent
    (``retry``), or that the whole batch was refused (``refused``, with the HTTP ``status``)."""

    accepted: int = 0
    rejected: int = 0
    retry: bool = False
    retry_after_s: float | None = None
    detail: str = ""
    refused: Refused | None = None
    status: int | None = None


def refusal(status: int, detail: str) -> Reply:
    """The Reply to a whole-batch refusal with HTTP ``status`` (not 2xx, not retryable)."""
    if status in (401, 403):
        kind = Refused.UNAUTHORIZED
    elif status == 413:
        kind = Refused.TOO_LARGE
    elif status == 400:
        kind = Refused.MALFORMED
    else:
        kind = Refused.MISDIRECTED
    return Reply(refused=kind, status=status, detail=f"HTTP {status}: {detail}")


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
    """A 207/400 answer with per-event results; a whole-batch refusal if it has none."""
    try:
        answer = json.loads(body)
        accepted, rejected = int(answer["accepted"]), int(answer["rejected"])
        errors = [r.get("error") for r in answer.get("results", []) if r.get("status") == "rejected"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return refusal(status, _error_text(body))
    first = errors[0] if errors else None
    detail = f"{first.get('field')}: {first.get('reason')}" if isinstance(first, dict) else ""
    return Reply(accepted=accepted, rejected=rejected, detail=detail)


def _error_text(body: bytes) -> str:
    """The collector's ``{"error": {"field", "reason"}}`` as ``field: reason``, else the body's start."""
    try:
        error = json.loads(body)["error"]
        return f"{error['field']}: {error['reason']}"
    except (ValueError, TypeError, KeyError):
        return body[:200].decode("utf-8", "replace")


class Transport:
    """Posts JSON batches to ``{collector_url}/v1/events`` over one kept-alive connection."""

    def __init__(self, collector_url: str, token: str | None, timeout_s: float,
                 user_agent: str = "") -> None:
        url = urllib.parse.urlsplit(collector_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"collector_url must be http(s)://host[:port], got {collector_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._path = url.path.rstrip("/") + "/v1/events"
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json"}
        if user_agent:  # lets the collector count a refused request by tool (it reads no body then)
            self._headers["User-Agent"] = user_agent
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
        return refusal(status, _error_text(data))

"""The hooks' way to the collector: the :class:`Transport` protocol every transport follows,
the :class:`Reply` it gives for a batch of events, and the one kept-alive HTTP connection
both transports post over. The transports themselves: ``native.NativeTransport`` (JSON to
``/v1/events``) and ``otlp.OtlpTransport`` (OTLP/HTTP protobuf to ``/v1/logs``); what the
exporter does with each answer is ``delivery.DeliveryPolicy`` (the table is in
agents/README.md):

* accepted, all or some: :attr:`Reply.accepted` and :attr:`Reply.rejected` (the rejected
  ones for good: the collector keeps them in its quarantine).
* 401/403: refused for want of a valid token (:attr:`Refused.UNAUTHORIZED`).
* 413: the batch is too large (:attr:`Refused.TOO_LARGE`); a body the collector could not
  read (:attr:`Refused.MALFORMED`). Both are split and re-sent.
* 408/425/429/5xx, connection errors and timeouts: retry later (:attr:`Reply.retry`), after
  ``Retry-After`` when given.
* anything else (404, 405, 415, a redirect …): what answers at ``collector_url`` does not
  take these events (:attr:`Refused.MISDIRECTED`).
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import enum
import http.client
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autoscope.agents.config import Settings

logger = logging.getLogger("autoscope.agents")

RETRYABLE = {408, 425, 429}
#: the start of the hooks' User-Agent; the collector reads the tool from ``tool=`` in it
USER_AGENT_PRODUCT = "autoscope-agents"
#: a collector that does not even accept the connection in this long is treated as down: a
#: silently dropped SYN would otherwise hold the exporter for the whole export timeout while the
#: tool's events pile up in the queue
CONNECT_TIMEOUT_S = 2.0


def user_agent(tool: str) -> str:
    """The hooks' User-Agent, naming the tool they report for (as a label: a header is ASCII)."""
    return f"{USER_AGENT_PRODUCT} (tool={re.sub(r'[^A-Za-z0-9_.:/+-]', '_', tool)[:64]})"


class Refused(enum.StrEnum):
    """Why the collector refused a whole batch without judging its events one by one."""

    #: 401/403: the token is missing, unknown, revoked or lacks the ``ingest`` scope
    UNAUTHORIZED = "unauthorized"
    #: 413: over the collector's body or batch limit
    TOO_LARGE = "too_large"
    #: the collector could not read the body (or the transport could not write the events)
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


class Transport(Protocol):
    """Sends a batch of event dicts to the collector and says what became of it.

    ``send`` never raises: every outcome, a broken connection included, is a :class:`Reply`.
    ``close`` drops the connection; the next ``send`` opens a new one."""

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply: ...

    def close(self) -> None: ...


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


@dataclasses.dataclass(frozen=True)
class HttpAnswer:
    """The collector's answer to one POST, as the transports read it."""

    status: int
    retry_after: str | None
    body: bytes

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE or self.status >= 500

    def retry_reply(self) -> Reply:
        return Reply(retry=True, retry_after_s=retry_after(self.retry_after), detail=f"HTTP {self.status}")


class CollectorConnection:
    """One kept-alive HTTP(S) connection posting to ``{collector_url}{path}``.

    Both transports use it, so they share the connect timeout, the one re-send on a kept-alive
    connection the server closed while idle, and the headers: exactly ours (``Content-Type``,
    ``User-Agent`` naming the tool, ``Authorization`` when there is a token). Decision: nothing
    of the tool's own OpenTelemetry configuration (``OTEL_EXPORTER_OTLP_HEADERS``, its
    certificates, its compression) reaches the Autoscope collector: those are the tool's
    business, often a vendor's API key.

    A proxy in ``HTTP_PROXY``/``HTTPS_PROXY`` (``NO_PROXY`` excepted; read as ``urllib`` and
    ``requests`` read them) is used as ``requests`` used it for the OTLP transport before:
    a plain-HTTP collector through the proxy, an HTTPS one through a CONNECT tunnel."""

    def __init__(
        self, collector_url: str, path: str, content_type: str, token: str | None, timeout_s: float, tool: str = ""
    ) -> None:
        url = urllib.parse.urlsplit(collector_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"collector_url must be http(s)://host[:port], got {collector_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._path = url.path.rstrip("/") + path
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": content_type}
        if tool:  # lets the collector count a refused request by tool (it reads no body then)
            self._headers["User-Agent"] = user_agent(tool)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._proxy = proxy_for(url)
        if self._proxy is not None and not self._https:  # a plain-HTTP proxy takes the whole URL
            self._path = urllib.parse.urlunsplit((url.scheme, url.netloc, self._path, "", ""))
            self._headers.update(_proxy_authorization(self._proxy))
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            timeout = min(CONNECT_TIMEOUT_S, self._timeout_s)
            if self._proxy is None:
                connection = kind(self._host, self._port, timeout=timeout)
            else:
                connection = kind(self._proxy.hostname, self._proxy.port or 8080, timeout=timeout)
                if self._https:
                    connection.set_tunnel(self._host, self._port, _proxy_authorization(self._proxy))
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(self._timeout_s)  # connected: the answer may take longer
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _exchange(self, body: bytes) -> HttpAnswer:
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
        return HttpAnswer(response.status, response.getheader("Retry-After"), data)

    def post(self, body: bytes) -> HttpAnswer | Reply:
        """POST ``body``: the collector's answer, or a retry Reply when it could not be had."""
        try:
            reused = self._connection is not None
            try:
                return self._exchange(body)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # the server closed an idle kept-alive connection: once more on a new one
                return self._exchange(body)
        except (OSError, http.client.HTTPException) as exc:
            return Reply(retry=True, detail=f"collector unreachable: {_short(exc)}")


def proxy_for(url: urllib.parse.SplitResult) -> urllib.parse.SplitResult | None:
    """The proxy the environment names for ``url`` (``HTTP_PROXY``/``HTTPS_PROXY``, unless
    ``NO_PROXY`` lists its host), or None."""
    import urllib.request  # here, on the exporter's thread: it is slow to import for the tool

    proxy = urllib.request.getproxies().get(url.scheme)
    if not proxy or not url.hostname or urllib.request.proxy_bypass(url.netloc if url.port else url.hostname):
        return None
    parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parsed if parsed.hostname else None


def _proxy_authorization(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if not proxy.username:
        return {}
    credentials = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _short(exc: BaseException) -> str:
    """``ConnectionRefusedError: [Errno 111] Connection refused`` rather than a whole chain."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return f"{type(exc).__name__}: {found.group(0) if found else text[:160]}"


def make_transport(settings: Settings) -> tuple[Transport, str]:
    """The transport of ``settings.transport``, and why it is not that one ("" if it is).
    Raises ValueError for a bad collector URL."""
    from autoscope.agents.native import NativeTransport

    native = NativeTransport(settings)
    if settings.transport != "otlp":
        return native, ""
    try:
        from autoscope.agents.otlp import OtlpTransport

        return OtlpTransport(settings), ""
    except Exception as exc:  # opentelemetry-proto is missing, or (importing it at interpreter
        # exit) cannot be loaded: the native path still delivers
        logger.warning("autoscope: OTLP transport unavailable (%r); sending native JSON", exc)
        return native, f"OTLP transport unavailable: {exc!r}"

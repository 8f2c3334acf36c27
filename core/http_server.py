"""An ASGI app served by uvicorn in a background thread: the one helper the collector
(``autoscope up``, :mod:`autoscope.service`) and the dashboard (:mod:`autoscope.pipelines.dashboard`)
both use, with the checks that come before listening (a free port, loopback or not).

Why a thread and not ``uvicorn.run``: the caller keeps its own foreground (the service also runs
the broker and the ingester; tests drive both servers in-process), and stops the server cleanly
with :meth:`HttpServer.stop`.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self


class ListenError(RuntimeError):
    """A server cannot listen as asked (the message names the port or host and the flag to change)."""


def check_port_free(host: str, port: int | None, flag: str) -> None:
    """Refuse a port another process listens on, naming it and the flag that sets it (:class:`ListenError`).

    Checked before anything starts: uvicorn and gRPC only log a bind failure (gRPC would
    carry on without it), so the operator would get a traceback or a warning instead.
    """
    if not port:  # None: not served; 0: the system picks a free one
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}: {exc.strerror} (--host)") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and gRPC bind
        try:
            probe.bind(address)
        except OSError as exc:
            raise ListenError(
                f"port {port} on {host} is not available ({exc.strerror}): another process "
                f"listens there; stop it or choose another port with {flag}"
            ) from None


class HttpServer:
    """uvicorn serving ``app`` in a daemon thread named ``autoscope-<name>`` (``port=0`` picks a free port).

    ``name`` also names the server in the error when it does not start ("the collector's HTTP
    server did not start"). ``tls_cert``/``tls_key`` serve HTTPS.
    """

    def __init__(
        self, app: object, host: str, port: int, *, name: str, tls_cert: Path | None = None, tls_key: Path | None = None
    ) -> None:
        import uvicorn  # lazily: the hooks-only install has no uvicorn

        self.host = host
        self.name = name
        self.scheme = "https" if tls_cert else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"autoscope-{name}", daemon=True)

    @property
    def port(self) -> int:
        """The port listened on: the one the system chose when asked for 0."""
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self._server.config.port)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/"

    def start(self, timeout_s: float = 15.0) -> Self:
        """Start serving; :class:`ListenError` when it has not started within ``timeout_s``."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ListenError(f"the {self.name}'s HTTP server did not start (is the port in use?)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

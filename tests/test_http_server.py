"""The one server helper (core/http_server.py) that the collector and the dashboard run on."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from autoscope.core.http_server import HttpServer, ListenError, check_port_free


def _app() -> Starlette:
    return Starlette(routes=[Route("/", lambda request: PlainTextResponse("hello"))])


def test_serves_in_a_thread_on_a_free_port_and_stops() -> None:
    with HttpServer(_app(), "127.0.0.1", 0, name="test") as server:
        assert server.port != 0
        assert httpx.get(server.url, timeout=5).text == "hello"
        with pytest.raises(ListenError, match=f"port {server.port} .* --my-port"):
            check_port_free("127.0.0.1", server.port, "--my-port")
        url = server.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def test_a_taken_port_is_named_when_the_server_cannot_start() -> None:
    with HttpServer(_app(), "127.0.0.1", 0, name="first") as first:
        second = HttpServer(_app(), "127.0.0.1", first.port, name="second")
        with pytest.raises(ListenError, match="the second's HTTP server did not start"):
            second.start(timeout_s=5)

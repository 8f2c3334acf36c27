"""Read a request body whole, within its limit, and undo its Content-Encoding
(:mod:`~autoscope.collector.codecs.content`).

Shared by the native and OTLP/HTTP receivers. Reads the stream chunk by chunk so an oversized
body is refused without being held, whether it came with a Content-Length or chunked; a
connection closed before the body's end is refused with 400 (nothing of it is kept).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from autoscope.collector.codecs.content import decode_content
from autoscope.collector.intake import Limits
from autoscope.collector.pipeline import Refusal


async def read_body(request: Request, limits: Limits) -> bytes | Refusal:
    """The body, decompressed if gzip/deflate, or the refusal naming what is wrong with it.

    Reads the stream chunk by chunk so an oversized body is refused without being held,
    whether it came with a Content-Length or chunked.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                return Refusal(413, "body", f"body exceeds the limit of {limits.max_body_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # the sender closed before its Content-Length or last chunk: nothing of it is kept,
        # and the answer (which it may never read) says so instead of a traceback in the log
        return Refusal(
            400,
            "body",
            f"the connection closed after {size} bytes, before the body's end; "
            "nothing of it was accepted, send it whole",
        )
    return decode_content(
        b"".join(chunks), ",".join(request.headers.getlist("content-encoding")), limits.max_body_bytes
    )

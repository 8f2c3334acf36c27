"""Read a request body whole, within its limit, and undo its Content-Encoding.

Shared by the native and OTLP/HTTP receivers. A compressed body is accepted only when its
stream is complete: zlib hands back what it could inflate of a cut-off gzip body without
complaint, and answering 200 to that would lose the rest of the sender's batch (it would
never re-send it). A truncated body is therefore refused with 400, so the sender retries.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

from autoscope.collector.intake import Limits
from autoscope.collector.pipeline import Refusal

_WBITS = {"gzip": 31, "deflate": 15}  # gzip framing; zlib framing (HTTP's "deflate")


async def read_body(request: Request, limits: Limits) -> bytes | Refusal:
    """The body, decompressed if gzip/deflate, or the refusal naming what is wrong with it.

    Reads the stream chunk by chunk so an oversized body is refused without being held,
    whether it came with a Content-Length or chunked.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            return Refusal(413, "body", f"body exceeds the limit of {limits.max_body_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in _WBITS:
        return Refusal(415, "Content-Encoding", f"unsupported content encoding {encoding!r}")
    return inflate(body, encoding, limits.max_body_bytes)


def inflate(data: bytes, encoding: str, limit: int) -> bytes | Refusal:
    """``data`` decompressed (every member of a multi-member gzip), at most ``limit`` bytes.

    Refused: 400 for a stream that is not ``encoding``, is cut off before its end (or its
    gzip trailer), or has bytes after it; 413 when it inflates past ``limit``.
    """
    if not data:
        return b""
    parts: list[bytes] = []
    size = 0
    while True:
        decompressor = zlib.decompressobj(wbits=_WBITS[encoding])
        try:
            part = decompressor.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            return Refusal(400, "body", f"body is not valid {encoding}: {exc}")
        size += len(part)
        if size > limit or decompressor.unconsumed_tail:
            return Refusal(413, "body", f"decompressed body exceeds {limit} bytes")
        if not decompressor.eof:
            return Refusal(
                400, "body",
                f"{encoding} body is truncated: the compressed stream stops before its end; "
                "nothing of it was accepted, send it whole",
            )
        parts.append(part)
        data = decompressor.unused_data
        if not data:
            return b"".join(parts)
        if encoding != "gzip":  # gzip may hold several members; zlib framing holds one
            return Refusal(400, "body", f"{len(data)} bytes follow the end of the {encoding} stream")

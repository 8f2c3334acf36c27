"""Undo a body's Content-Encoding, refusing what cannot be undone whole.

A compressed body is accepted only when its stream is complete: zlib hands back what it could
inflate of a cut-off gzip body without complaint, and answering 200 to that would lose the
rest of the sender's batch (it would never re-send it). A truncated body is therefore refused
with 400, so the sender retries.

Content-Encoding, as RFC 9110 §8.4 has it: a list of codings in the order they were applied
(several headers read as one list), undone last first; ``identity`` is no coding. Supported:
``gzip`` (also ``x-gzip``) and ``deflate`` (zlib framing, and raw deflate as some clients send
it); anything else (``br``, ``zstd`` …) is 415 naming it and the supported ones. At most
:data:`MAX_CODINGS` codings, each inflated within the body limit, so nesting is no bomb. A
body that still starts with gzip's magic bytes after its codings are undone is refused naming
that (compressed twice, or a coding the header does not list) rather than as invalid JSON.
"""

from __future__ import annotations

import zlib

from autoscope.collector.pipeline import Refusal

_WBITS = {"gzip": 31, "deflate": 15}  # gzip framing; zlib framing (HTTP's "deflate")
_ALIASES = {"x-gzip": "gzip"}
MAX_CODINGS = 3
SUPPORTED = "gzip, deflate, identity"
GZIP_MAGIC = b"\x1f\x8b"


def decode_content(body: bytes, header: str, limit: int) -> bytes | Refusal:
    """``body`` with the codings of a Content-Encoding ``header`` undone (last applied first)."""
    codings = [
        _ALIASES.get(c, c) for c in (part.strip().lower() for part in header.split(",")) if c and c != "identity"
    ]
    unsupported = [c for c in codings if c not in _WBITS]
    if unsupported:
        return Refusal(
            415, "Content-Encoding", f"unsupported content encoding {unsupported[0]!r}; supported: {SUPPORTED}"
        )
    if len(codings) > MAX_CODINGS:
        return Refusal(
            415,
            "Content-Encoding",
            f"{len(codings)} content codings ({header.strip()!r}); at most {MAX_CODINGS} are undone",
        )
    for coding in reversed(codings):
        inflated = inflate(body, coding, limit)
        if isinstance(inflated, Refusal):
            return inflated
        body = inflated
    if body.startswith(GZIP_MAGIC):
        said = f"after undoing Content-Encoding {header.strip()!r}" if codings else "without a Content-Encoding"
        return Refusal(400, "body", f"the body is gzip-compressed {said}: compressed once more than the header says")
    return body


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
            if encoding != "deflate" or parts:
                return Refusal(400, "body", f"body is not valid {encoding}: {exc}")
            # "deflate" without zlib's header and checksum: what some clients send
            decompressor = zlib.decompressobj(wbits=-15)
            try:
                part = decompressor.decompress(data, limit + 1 - size)
            except zlib.error:
                return Refusal(400, "body", f"body is not valid {encoding} (zlib or raw): {exc}")
        size += len(part)
        if size > limit or decompressor.unconsumed_tail:
            return Refusal(413, "body", f"decompressed body exceeds {limit} bytes")
        if not decompressor.eof:
            return Refusal(
                400,
                "body",
                f"{encoding} body is truncated: the compressed stream stops before its end; "
                "nothing of it was accepted, send it whole",
            )
        parts.append(part)
        data = decompressor.unused_data
        if not data:
            return b"".join(parts)
        if encoding != "gzip":  # gzip may hold several members; zlib framing holds one
            return Refusal(400, "body", f"{len(data)} bytes follow the end of the {encoding} stream")

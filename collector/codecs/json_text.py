"""JSON bodies are UTF-8 text (RFC 8259 §8.1, for JSON exchanged between systems).

Checked once per body, before any JSON decoder reads it, so the answer names the encoding
rather than "invalid character (byte 0)":

* a UTF-8 byte-order mark is dropped (RFC 8259 lets a parser ignore it; Windows tools write
  one), the rest of the body decoded as usual;
* UTF-16 and UTF-32, with or without a byte-order mark, are refused with 400 naming the
  encoding found, as is a ``charset`` parameter other than UTF-8 on the Content-Type (415).
"""

from __future__ import annotations

import codecs

from autoscope.collector.pipeline import Refusal

_BOMS = (  # longest first: UTF-32LE's mark begins with UTF-16LE's
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, told by where the NUL bytes of the first ASCII
    character ('[', '{' …) fall (the detection RFC 4627 §3 described)."""
    if len(head) >= 4:
        if head[:3] == b"\0\0\0" and head[3]:
            return "UTF-32BE"
        if head[0] and head[1:4] == b"\0\0\0":
            return "UTF-32LE"
    if len(head) >= 2:
        if head[0] == 0 and head[1]:
            return "UTF-16BE"
        if head[0] and head[1] == 0:
            return "UTF-16LE"
    return None


def utf8_json(body: bytes, content_type: str = "") -> bytes | Refusal:
    """``body`` without a UTF-8 byte-order mark, or the refusal of a body in another encoding.

    Parameters:
        content_type: the whole Content-Type header; its ``charset`` parameter, if any, must
            name UTF-8.
    """
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return Refusal(415, "Content-Type", f"JSON must be UTF-8, not charset={charset!r}")
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :]
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Refusal(400, "body", f"JSON must be UTF-8; this body is {name} (it starts with its byte-order mark)")
    wide = _wide_encoding(body[:4])
    if wide is not None:
        return Refusal(
            400, "body", f"JSON must be UTF-8; this body looks like {wide} (NUL bytes around its first character)"
        )
    return body

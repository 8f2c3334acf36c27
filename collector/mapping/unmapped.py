"""How telemetry that maps to no event is named when it is counted (``/metrics``,
``/v1/status``, ``autoscope status``): by kind and the sender's own name for it — the event
name of a log record, the metric's name, a span's name — so an operator can tell which
events arrive and are ignored.

The name is the sender's choice, so a counter label is made from it with care: it must be a
short machine label (letters, digits, ``_ . : / + -``, at most 64 characters). A name that is
not one (a span named after the user's prompt, say) is cut to its first word if that word is
a label, else counted as ``other``: free text never reaches a label, a log or a file. How many
distinct names are counted is bounded by the collector's counters
(:class:`~autoscope.collector.receivers.otlp.OtlpStats`).
"""

from __future__ import annotations

import re

MAX_NAME = 64
_LABEL = re.compile(rf"[A-Za-z0-9_.:/+\-]{{1,{MAX_NAME}}}")


def label(name: str) -> str:
    """``name`` as a counter label: itself, its first word, or ``other``."""
    if _LABEL.fullmatch(name):
        return name
    first = name.split(" ", 1)[0]
    if first != name and _LABEL.fullmatch(first):
        return first
    return "other"


def unmapped_key(kind: str, name: str) -> str:
    """The counter key of an unmapped record: ``<kind>:<label of its name>``."""
    return f"{kind}:{label(name)}"

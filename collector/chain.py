"""The collector's chain, top to bottom: what happens to a request, in order, in one place.

Like structlog's processor list: each stage is a small callable over the request's
:class:`~autoscope.collector.pipeline.Batch`; one that refuses the whole request stops the
chain, one that rejects an event marks that event and the others go on.

Every receiver first takes the same admission step
(:meth:`~autoscope.collector.receivers.admission.Admission.admit`: a place among the requests
in flight, then the token) and reads its body through the codecs (``codecs/``: the
Content-Encoding, UTF-8 JSON text). Then::

    native  POST /v1/events           OTLP  /v1/logs|traces|metrics, gRPC Export
    ───────────────────────────       ─────────────────────────────────────────
    decode   codecs/native_json       decode   codecs/otlp (protobuf or OTLP/JSON)
             (events per batch)       map      stages/map_otlp (records → events)
                                      limit    events per batch
    limit    per-sender rate          limit    per-sender rate
    validate the v1 contract          validate the v1 contract
    restrict the token's team         restrict the token's team
    pseudonymize actor, reviewer      pseudonymize actor, reviewer
    ───────────────────────────       ─────────────────────────────────────────
    sinks: the spool (accepted, fsync'd; the forwarder takes it to Kafka),
           the quarantine (rejected, with their reasons)  — collector/intake.py

The OTLP receiver (:class:`~autoscope.collector.receivers.otlp.OtlpReceiver`) runs the list
in two goes, for one reason: an export with cumulative metrics learns from mapping which
series it touches, takes their locks, maps again holding them, and keeps them through the
rest of the chain and the sinks (so no other export of the same series commits in between).
The gRPC server decodes as its request deserializer (a request that does not parse is refused
before it is admitted further); its decode stage then has nothing left to do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from autoscope.collector.codecs.native_json import decode_json_array
from autoscope.collector.codecs.otlp import SIGNALS, decode_export
from autoscope.collector.intake import Limits
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.pipeline import Stage
from autoscope.collector.receivers.admission import RateLimiter, limit_rate
from autoscope.collector.stages.map_otlp import limit_events, map_records
from autoscope.collector.stages.pseudonymize import pseudonymize_actors
from autoscope.collector.stages.restrict import restrict_to_token_team
from autoscope.collector.stages.validate import validate_events


@dataclasses.dataclass(frozen=True)
class Chain:
    """The stages of each kind of request, in order; all end in the intake's sinks."""

    native: tuple[Stage, ...]  # a native request's body → events
    otlp_decode: dict[str, Stage]  # per OTLP signal: the body → the export request
    otlp_map: dict[str, Stage]  # per OTLP signal: the export request → events
    mapped: tuple[Stage, ...]  # events an OTLP mapping made → events

    def otlp(self, signal: str) -> tuple[Stage, ...]:
        """An OTLP request's whole chain, top to bottom."""
        return (self.otlp_decode[signal], self.otlp_map[signal], *self.mapped)


def build_chain(limits: Limits, pseudonym_of: Callable[[str], str], mapper: Mapper) -> Chain:
    """The collector's chain for these limits, this pseudonymizer and this OTLP mapping."""
    events: tuple[Stage, ...] = (
        limit_rate(RateLimiter(limits.events_per_s_per_token)),
        validate_events,
        restrict_to_token_team,
        pseudonymize_actors(pseudonym_of),
    )
    return Chain(
        native=(decode_json_array(limits.max_events), *events),
        otlp_decode={name: decode_export(signal) for name, signal in SIGNALS.items()},
        otlp_map={name: map_records(signal, mapper) for name, signal in SIGNALS.items()},
        mapped=(limit_events(limits.max_events), *events),
    )

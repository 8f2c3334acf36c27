"""The collector's chain, top to bottom: what happens to a request, in order, in one place.

Like structlog's processor list: each stage is a small callable over the request's
:class:`~autoscope.collector.pipeline.Batch`; one that refuses the whole request stops the
chain, one that rejects an event marks that event and the others go on.

Every receiver first takes the same admission step
(:meth:`~autoscope.collector.receivers.admission.Admission.admit`: a place among the requests
in flight, then the token) and reads its body through the codecs (``codecs/``: the
Content-Encoding, UTF-8 JSON text). Then::

    native  POST /v1/events      OTLP  /v1/logs|traces|metrics, gRPC Export
    ──────────────────────       ──────────────────────────────────────────
    decode   codecs/native_json  decode   codecs/otlp (protobuf or OTLP/JSON)
                                 map      mapping/ (records → events)
    limit    per-sender rate     limit    per-sender rate
    validate the v1 contract     validate the v1 contract
    restrict the token's team    restrict the token's team
    pseudonymize actor, reviewer pseudonymize actor, reviewer
    ──────────────────────       ──────────────────────────────────────────
    sinks: the spool (accepted, fsync'd; the forwarder takes it to Kafka),
           the quarantine (rejected, with their reasons)  — collector/intake.py

For OTLP, decode and map run in :class:`~autoscope.collector.receivers.otlp.OtlpReceiver`
before :data:`Chain.mapped`: mapping cumulative metrics must hold their series' locks across
the whole chain and the sinks (and is mapped again under them), and the gRPC server decodes
as its request deserializer; everything after mapping is this list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from autoscope.collector.codecs.native_json import decode_json_array
from autoscope.collector.intake import Limits
from autoscope.collector.pipeline import Stage
from autoscope.collector.receivers.admission import RateLimiter, limit_rate
from autoscope.collector.stages.pseudonymize import pseudonymize_actors
from autoscope.collector.stages.restrict import restrict_to_token_team
from autoscope.collector.stages.validate import validate_events


@dataclasses.dataclass(frozen=True)
class Chain:
    """The stages of each kind of request, in order; both end in the intake's sinks."""

    native: tuple[Stage, ...]  # a native request's body → events
    mapped: tuple[Stage, ...]  # events an OTLP mapping made → events


def build_chain(limits: Limits, pseudonym_of: Callable[[str], str]) -> Chain:
    """The collector's chain for these limits and this pseudonymizer."""
    events: tuple[Stage, ...] = (
        limit_rate(RateLimiter(limits.events_per_s_per_token)),
        validate_events,
        restrict_to_token_team,
        pseudonymize_actors(pseudonym_of),
    )
    return Chain(
        native=(decode_json_array(limits.max_events), *events),
        mapped=events,
    )

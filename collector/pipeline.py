"""What the collector's stages pass along: a :class:`Batch` of :class:`Item` s from one
:class:`Sender`, or the :class:`Refusal` of the whole request; and :func:`run`.

Modelled on structlog's processors: each stage takes a :class:`Batch` and returns it, having
filled in its part (decoded items, validated events, pseudonyms …). A stage that refuses the
whole request sets :attr:`Batch.refusal`; :func:`run` then stops. Per-event problems are
recorded on the item and never stop the others: one bad event does not sink its batch. The
list of stages itself, top to bottom, is :mod:`autoscope.collector.chain`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from autoscope.collector.contract import ContractError, Event


@dataclasses.dataclass
class Refusal:
    """The whole request is refused: an HTTP status and a message naming the problem."""

    status: int
    field: str
    reason: str
    retry_after_s: int | None = None
    #: the tool refused, when the refusing stage knows it (the token's name), for /metrics
    tool: str | None = None
    #: the reason it is counted under on /metrics, when not its field (413 on events: ``batch``)
    counted_as: str | None = None

    @property
    def counted_reason(self) -> str:
        return self.counted_as or self.field


@dataclasses.dataclass(frozen=True)
class Sender:
    """Who sent a request, as admitted: a token's name (or ``anonymous``), its id and team,
    and the tool its User-Agent names (``agent_tool``)."""

    name: str
    token_id: str | None = None
    team: str | None = None  # a team-bound token may only send events of this team
    agent_tool: str | None = None

    @property
    def tool_label(self) -> str | None:
        """Whom a refusal of this sender's request is counted for: the token's name (tokens
        are named after tools), else the tool its User-Agent names."""
        return self.name if self.token_id is not None else self.agent_tool


ANONYMOUS = Sender("anonymous")


@dataclasses.dataclass
class Item:
    """One event of a batch, from its raw bytes to a validated, pseudonymized event."""

    index: int
    raw: Any
    event: Event | None = None
    error: ContractError | None = None

    @property
    def accepted(self) -> bool:
        return self.event is not None and self.error is None


@dataclasses.dataclass
class Batch:
    """Everything one request carries through the pipeline.

    Parameters:
        body: the request body as received (after any content decoding).
        sender: who sent it; its name is kept with rejected events, its team restricts them.
        content_type: the body's media type, for a decoder that reads more than one.
        request: an OTLP export request, once decoded (the gRPC server decodes it itself).
        mapped: what mapping the request made (a
            :class:`~autoscope.collector.mapping.records.MapResult`): its events are the items.
    """

    body: bytes
    sender: Sender = ANONYMOUS
    content_type: str = ""
    request: Any = None
    mapped: Any = None
    received_at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    items: list[Item] = dataclasses.field(default_factory=list)
    refusal: Refusal | None = None

    def accepted_events(self) -> list[Event]:
        return [item.event for item in self.items if item.accepted]  # type: ignore[misc]

    def rejected_items(self) -> list[Item]:
        return [item for item in self.items if not item.accepted]


Stage = Callable[[Batch], Batch]


def run(stages: Sequence[Stage], batch: Batch) -> Batch:
    """Pass the batch through each stage in order, stopping at a refusal."""
    for stage in stages:
        batch = stage(batch)
        if batch.refusal is not None:
            break
    return batch

"""The collector's processing pipeline: a list of small callables over one request's batch.

Modelled on structlog's processors: each stage takes a :class:`Batch` and returns it, having
filled in its part (decoded items, validated events, pseudonyms …). A stage that refuses the
whole request sets :attr:`Batch.refusal`; :func:`run` then stops. Per-event problems are
recorded on the item and never stop the others: one bad event does not sink its batch.

Where the parts live: ``receivers/`` (where a request enters and is admitted), ``mapping/``
(OTLP records → events), ``transforms/`` (decode, validate, pseudonymize), ``intake.py`` (runs
the stages over a batch and hands the outcome to the sinks), ``sinks/`` (the fsync'd spool of
accepted events, the quarantine of rejected ones, the forwarder from the spool to Kafka);
``app.py`` assembles them.
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
        sender: who sent it (a token's name, or ``anonymous``), kept with rejected events.
    """

    body: bytes
    sender: str = "anonymous"
    received_at: dt.datetime = dataclasses.field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc)
    )
    items: list[Item] = dataclasses.field(default_factory=list)
    refusal: Refusal | None = None

    def accepted_events(self) -> list[Event]:
        return [item.event for item in self.items if item.accepted]  # type: ignore[misc]

    def rejected_items(self) -> list[Item]:
        return [item for item in self.items if not item.accepted]


Processor = Callable[[Batch], Batch]


def run(processors: Sequence[Processor], batch: Batch) -> Batch:
    """Pass the batch through each processor in order, stopping at a refusal."""
    for processor in processors:
        batch = processor(batch)
        if batch.refusal is not None:
            break
    return batch

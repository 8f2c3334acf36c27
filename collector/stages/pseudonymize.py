"""Replace every identity field with its keyed pseudonym before anything is written."""

from __future__ import annotations

from collections.abc import Callable

from autoscope.collector.contract import Review
from autoscope.collector.pipeline import Batch, Stage


def pseudonymize_actors(pseudonym_of: Callable[[str], str]) -> Stage:
    """Pseudonymize ``actor`` on every accepted event and ``reviewer`` on reviews.

    Parameters:
        pseudonym_of: maps a raw identity to its pseudonym (a
            :class:`~autoscope.collector.pseudonymize.Pseudonymizer`).
    """

    def pseudonymize(batch: Batch) -> Batch:
        for item in batch.items:
            event = item.event
            if event is None or item.error is not None:
                continue
            event.actor = pseudonym_of(event.actor)
            if isinstance(event, Review):
                event.reviewer = pseudonym_of(event.reviewer)
        return batch

    return pseudonymize

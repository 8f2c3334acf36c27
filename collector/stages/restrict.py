"""A team-bound token sends only its team's events: others are rejected, one by one."""

from __future__ import annotations

from autoscope.collector.contract import ContractError
from autoscope.collector.pipeline import Batch


def restrict_to_token_team(batch: Batch) -> Batch:
    """Reject (per event, kept in the quarantine) events of another team than the one the
    sender's token is bound to; a token bound to no team, or no token, restricts nothing."""
    team = batch.sender.team
    if team is None:
        return batch
    for item in batch.items:
        if item.accepted and item.event is not None and item.event.team != team:
            item.error = ContractError("$.team", f"this token may only send events of team {team!r}")
    return batch

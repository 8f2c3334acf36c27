"""Who may send: bearer tokens checked on every request that carries events.

401 when the token is missing, unknown or revoked; 403 when it lacks the scope (or, for a
team-bound token, per event: see :func:`restrict_to_token_team`). With ``required=False``
(only allowed on loopback, see ``autoscope up``) every request is let in as ``anonymous``.
With ``required=None`` (the default) the token store decides *per request*: as soon as a
token has been created — also while the collector runs — every request needs one, and
stays needing one after the last token is revoked (revoking a leaked token must not open
the door).
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from autoscope.collector.pipeline import Batch, Refusal
from autoscope.collector.contract import ContractError
from autoscope.tokens import TokenStore


@dataclasses.dataclass(frozen=True)
class Sender:
    """The authenticated sender of a request."""

    name: str
    token_id: str | None = None
    team: str | None = None


ANONYMOUS = Sender("anonymous")


class Authenticator:
    """Checks ``Authorization: Bearer <token>`` against the token store.

    Parameters:
        store: the tokens (re-read when the file changes, so revocations apply at once).
        required: True always asks for a token; False lets unauthenticated requests in
            (loopback-only deployments); None asks the store on each request whether any
            token was created (a stat of the tokens file, re-read only when it changed).
    """

    def __init__(self, store: TokenStore | None, required: bool | None = None) -> None:
        if required is not False and store is None:
            raise ValueError("authentication is required but there is no token store")
        self.store = store
        self.required = required

    def is_required(self) -> bool:
        """Whether this request must carry a token (decided now, not at startup)."""
        if self.required is None:
            assert self.store is not None
            return self.store.any_created()
        return self.required

    def __call__(self, request: Request, scope: str) -> Sender | Refusal:
        if not self.is_required():
            return ANONYMOUS
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            return Refusal(401, "Authorization", "a bearer token is required")
        assert self.store is not None
        record = self.store.verify(token.strip())
        if record is None:
            return Refusal(401, "Authorization", "the token is unknown or revoked")
        if scope not in record.scopes:
            return Refusal(
                403, "Authorization", f"the token {record.token_id} lacks the {scope!r} scope"
            )
        return Sender(record.name, record.token_id, record.team)


def restrict_to_token_team(team: str | None):  # -> Processor
    """Reject (per event) events of another team than the one the token is bound to."""

    def restrict(batch: Batch) -> Batch:
        if team is None:
            return batch
        for item in batch.items:
            if item.accepted and item.event is not None and item.event.team != team:
                item.error = ContractError(
                    "$.team", f"this token may only send events of team {team!r}"
                )
        return batch

    return restrict

"""Who may send: bearer tokens checked on every request that carries events.

401 when the token is missing, unknown or revoked; 403 when it lacks the scope (or, for a
team-bound token, per event: see :mod:`~autoscope.collector.stages.restrict`). The decision
is :func:`autoscope.core.access.authorize`'s, the one every door of Autoscope asks. With ``required=False``
(only allowed on loopback, see ``autoscope up``) every request is let in as ``anonymous``.
With ``required=None`` (the default) the token store decides *per request*: as soon as a
token has been created — also while the collector runs — every request needs one, and
stays needing one after the last token is revoked (revoking a leaked token must not open
the door).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from autoscope.collector.pipeline import ANONYMOUS, Refusal, Sender
from autoscope.core.access import Denial, Denied, authorize
from autoscope.core.tokens import TokenStore

_HOOKS_TOOL = re.compile(r"\(tool=([^)]+)\)")


def user_agent_tool(headers: Mapping[str, str]) -> str | None:
    """The tool a request says it comes from: ``T`` of the hooks' ``autoscope-agents
    (tool=T)``, else the User-Agent's first product (``OTel-OTLP-Exporter-Python``,
    ``grpc-python``, ``curl``), else None. Only a label for counting refusals: a sender
    chooses its User-Agent, so nothing is decided by it."""
    agent = headers.get("user-agent", "")
    found = _HOOKS_TOOL.search(agent)
    if found:
        return found.group(1)
    product = agent.split(" ", 1)[0].split("/", 1)[0]
    return product or None


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

    def __call__(self, headers: Mapping[str, str], scope: str) -> Sender | Refusal:
        """The sender of a request with ``headers`` (HTTP headers, or gRPC metadata with
        lower-case keys), or the 401/403 refusal (decided by
        :func:`autoscope.core.access.authorize`, worded here for HTTP and gRPC)."""
        agent_tool = user_agent_tool(headers)
        kind, _, token = headers.get("authorization", "").partition(" ")
        presented = token if kind.lower() == "bearer" else None
        decision = authorize(self.store, presented, scope, required=self.required)
        if isinstance(decision, Denied):
            return Refusal(
                decision.status,
                "Authorization",
                _REASONS[decision.denial](decision),
                tool=decision.record.name if decision.record else agent_tool,
            )
        record = decision.record
        if record is None:
            return Sender(ANONYMOUS.name, agent_tool=agent_tool)
        return Sender(record.name, record.token_id, record.team, agent_tool)


_REASONS = {
    Denial.MISSING: lambda denied: "a bearer token is required",
    Denial.UNKNOWN: lambda denied: "the token is unknown or revoked",
    Denial.SCOPE: lambda denied: f"the token {denied.record.token_id} lacks the {denied.scope!r} scope",
}

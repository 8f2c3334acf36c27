"""Who may do what: the ONE authorization decision, for every door of Autoscope.

Every door asks :func:`authorize`: the collector's receivers (scope ``ingest``, and ``read``
for ``/v1/status``), the dashboard (``read``), export (``export``). The rules, in one place:

* a token is required when ``required`` says so; ``None`` (the default) asks the token store
  *on each call*: as soon as a token has been created in the data directory — also while a
  server runs — every caller needs one, and keeps needing one after the last is revoked
  (revoking a leaked token must not open the door);
* with no token required, a door is open: the caller is let in without an identity. Whether a
  token that is presented anyway is still checked is the door's choice
  (``check_presented``): the CLI's readers check it (a typo should not pass silently), the
  collector ignores it (a hook configured with a token keeps working against a collector
  that has none);
* a token is checked by its hash: missing, unknown or revoked is 401; lacking the scope 403.

The decision is returned as data (:class:`Granted` or :class:`Denied`): each door words its
answer for its own audience (an HTTP body, a CLI message), from the same decision.

:func:`serves_unauthenticated` is the other half: whether listening on a host would serve
data with no token to ask for, which the collector and the dashboard refuse to do beyond
loopback unless told to.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress

from autoscope.core.tokens import TokenRecord, TokenStore


class Denial(enum.Enum):
    """Why a caller is turned away."""

    MISSING = "missing"  # no token, where one is required
    UNKNOWN = "unknown"  # a token that is not in the store, or revoked
    SCOPE = "scope"  # a valid token without the scope


@dataclasses.dataclass(frozen=True)
class Granted:
    """Let in; ``record`` is the token presented, None when the door was open and none was checked."""

    record: TokenRecord | None


@dataclasses.dataclass(frozen=True)
class Denied:
    """Turned away, and why; ``record`` is the token's when a valid one lacked the scope."""

    denial: Denial
    scope: str
    record: TokenRecord | None = None

    @property
    def status(self) -> int:
        """401 for a missing, unknown or revoked token; 403 for a token without the scope."""
        return 403 if self.denial is Denial.SCOPE else 401


def authorize(
    store: TokenStore | None,
    token: str | None,
    scope: str,
    *,
    required: bool | None = None,
    check_presented: bool = False,
) -> Granted | Denied:
    """Decide whether ``token`` may act in ``scope``.

    Parameters:
        store: the data directory's tokens; may be None only when ``required`` is False.
        token: the bearer token presented, or None/empty.
        scope: ``ingest``, ``read`` or ``export``.
        required: True always asks for a token; False never does; None asks the store
            whether any token was ever created (decided now, not at startup).
        check_presented: with no token required, still check a token that is presented.
    """
    if required is None:
        if store is None:
            raise ValueError("authorization is decided by the token store, but there is none")
        required = store.any_created()
    token = (token or "").strip()
    if not required and not (check_presented and token):
        return Granted(None)
    if not token:
        return Denied(Denial.MISSING, scope)
    if store is None:
        raise ValueError("a token must be checked but there is no token store")
    record = store.verify(token)
    if record is None:
        return Denied(Denial.UNKNOWN, scope)
    if scope not in record.scopes:
        return Denied(Denial.SCOPE, scope, record)
    return Granted(record)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serves_unauthenticated(store: TokenStore, host: str, allow_unauthenticated: bool) -> bool:
    """Whether listening on ``host`` would serve beyond this machine with no active token to
    ask for: what the collector and the dashboard refuse unless ``allow_unauthenticated``."""
    return not is_loopback(host) and not allow_unauthenticated and not store.any_active()

"""Bearer tokens per tool or team, stored hashed, with scopes.

A token is shown once, when it is created (``autoscope token create``); the store keeps only
its SHA-256. Tokens are 256 random bits, so a fast hash is enough: there is nothing to
brute-force, unlike a password.

Scopes:

* ``ingest`` — send events (``/v1/events``, OTLP). A token may be bound to a team; it can then
  only send events of that team.
* ``read`` — read the dashboard.
* ``export`` — export aggregates.

The store is one JSON file (``<data-dir>/tokens.json``, mode 0600), re-read when it changes,
so a revocation takes effect without restarting the collector.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

SCOPES = ("ingest", "read", "export")
TOKEN_PREFIX = "as_"


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown scope, unknown id …)."""


@dataclasses.dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    scopes: tuple[str, ...]
    team: str | None
    created_at: str
    sha256: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The tokens of one data directory.

    Parameters:
        path: the JSON file (created on the first token).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._version: tuple[int, int, int] | None = None  # (mtime_ns, inode, size) when read
        self._records: list[TokenRecord] = []
        self._any_active = False

    def _load(self) -> list[TokenRecord]:
        """The records, re-read only when the file changed: a stat per call, so the collector
        can ask on every request (a token created or revoked applies at once)."""
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._records, self._version, self._any_active = [], None, False
                return []
            # the inode too: _save replaces the file, and two saves can share an mtime tick
            version = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
            if version != self._version:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._records = [TokenRecord(**{**entry, "scopes": tuple(entry["scopes"])}) for entry in raw]
                self._any_active = any(r.active for r in self._records)
                self._version = version
            return list(self._records)

    def _save(self, records: list[TokenRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump([dataclasses.asdict(r) for r in records], handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def records(self) -> list[TokenRecord]:
        return self._load()

    def any_active(self) -> bool:
        """Whether any token is active."""
        self._load()
        return self._any_active

    def any_created(self) -> bool:
        """Whether any token was ever made here, revoked ones included.

        The collector asks this on each request: once it is true, every request needs a
        token. Revoking the last (say leaked) token must lock senders out, not let everyone in.
        """
        return bool(self._load())

    def create(self, name: str, scopes: list[str], team: str | None = None) -> tuple[str, TokenRecord]:
        """Make a token; returns (the token, shown only now, and its record)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise TokenError(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(
            token_id=secrets.token_hex(4),
            name=name,
            scopes=tuple(dict.fromkeys(scopes)),
            team=team,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            sha256=_digest(token),
        )
        self._save([*self._load(), record])
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        records = self._load()
        for index, record in enumerate(records):
            if record.token_id == token_id:
                if record.revoked_at is None:
                    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                    records[index] = dataclasses.replace(record, revoked_at=now)
                    self._save(records)
                return records[index]
        raise TokenError(f"no token with id {token_id!r}")

    def verify(self, token: str) -> TokenRecord | None:
        """The active record of ``token``, or None (unknown or revoked)."""
        digest = _digest(token)
        for record in self._load():
            if hmac.compare_digest(record.sha256, digest):
                return record if record.active else None
        return None

"""Keyed pseudonyms for actors: HMAC-SHA256 with a key that never leaves the collector.

A pseudonym is ``<key_id>:<32 hex chars>``. The key id names the key (it is derived from the
key, not the key itself), so after a rotation old and new pseudonyms of one person can be
linked only by whoever holds both keys. Identities are trimmed and case-folded first, so
``Ada@Lab.org`` and ``ada@lab.org `` are one person.

Where the key comes from, first match wins:
``AUTOSCOPE_PSEUDONYM_KEY`` (64 hex chars), the file in ``AUTOSCOPE_PSEUDONYM_KEY_FILE``, or
``<data-dir>/keys/pseudonym.key``, generated (mode 0600) on first run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

KEY_ENV = "AUTOSCOPE_PSEUDONYM_KEY"
KEY_FILE_ENV = "AUTOSCOPE_PSEUDONYM_KEY_FILE"
KEY_BYTES = 32


class PseudonymKeyError(ValueError):
    """The configured key is unusable (wrong length or not hex)."""


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise PseudonymKeyError(f"{where}: the pseudonym key must be hex") from None
    if len(key) < 16:
        raise PseudonymKeyError(f"{where}: the pseudonym key must be at least 16 bytes")
    return key


def key_configured(data_dir: Path) -> bool:
    """Whether a key is given (environment, key file) or already in ``data_dir``: several
    collectors must share one key, or one person gets a pseudonym per collector and k counts
    them several times."""
    return bool(
        os.environ.get(KEY_ENV) or os.environ.get(KEY_FILE_ENV) or (data_dir / "keys" / "pseudonym.key").exists()
    )


def load_or_create_key(data_dir: Path) -> bytes:
    """The HMAC key from the environment, a key file, or a new one under ``data_dir/keys``."""
    if os.environ.get(KEY_ENV):
        return _parse_key(os.environ[KEY_ENV], KEY_ENV)
    if os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV])
        return _parse_key(path.read_text(encoding="ascii"), str(path))
    path = data_dir / "keys" / "pseudonym.key"
    if path.exists():
        return _parse_key(path.read_text(encoding="ascii"), str(path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two collectors starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _parse_key(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return _parse_key(path.read_text(encoding="ascii"), str(path))


class Pseudonymizer:
    """Maps an identity to its pseudonym under one key.

    Parameters:
        key: the secret HMAC key.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.key_id = hashlib.sha256(b"autoscope-key-id:" + key).hexdigest()[:8]
        self._own_pseudonym = re.compile(rf"^{self.key_id}:[0-9a-f]{{32}}$")
        # Researchers emit many events each: memoizing saves an HMAC per event.
        self._cache: dict[str, str] = {}

    def __call__(self, identity: str) -> str:
        cached = self._cache.get(identity)
        if cached is not None:
            return cached
        if self._own_pseudonym.match(identity):  # a replayed quarantine entry: already done
            return identity
        digest = hmac.new(self._key, identity.strip().casefold().encode(), hashlib.sha256)
        pseudonym = f"{self.key_id}:{digest.hexdigest()[:32]}"
        if len(self._cache) < 100_000:
            self._cache[identity] = pseudonym
        return pseudonym

    def __repr__(self) -> str:  # never show the key, e.g. in a traceback or a log line
        return f"Pseudonymizer(key_id={self.key_id!r})"


def key_id_of(key: bytes) -> str:
    """The public name of a key (what pseudonyms are prefixed with)."""
    return Pseudonymizer(key).key_id


def rotate_key(data_dir: Path) -> tuple[str | None, str]:
    """Replace the generated key with a new one; returns (old key id, new key id).

    The old key is moved to ``keys/retired/<key id>.key``: whoever holds both keys can link a
    person's old and new pseudonyms, nobody else can. Delete the retired file to make the
    break permanent. A running collector keeps its key until restarted; rotate at a period
    boundary, since one person counts as two distinct actors in a period that spans it.
    """
    if os.environ.get(KEY_ENV) or os.environ.get(KEY_FILE_ENV):
        raise PseudonymKeyError(
            f"the key comes from {KEY_ENV if os.environ.get(KEY_ENV) else KEY_FILE_ENV}: rotate it there"
        )
    path = data_dir / "keys" / "pseudonym.key"
    old_id = None
    if path.exists():
        old = _parse_key(path.read_text(encoding="ascii"), str(path))
        old_id = key_id_of(old)
        retired = data_dir / "keys" / "retired"
        retired.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(path, retired / f"{old_id}.key")
    new = load_or_create_key(data_dir)
    return old_id, key_id_of(new)

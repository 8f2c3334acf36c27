"""Event ids made on the client: UUIDv7 (RFC 9562), the idempotency key end to end.

A v7 id starts with the Unix time in milliseconds, so ids sort roughly by creation time
(good for the warehouse's indexes) while 74 random bits keep them unique across processes
and forks without any coordination. Only the stdlib is used: the hooks run inside lab tools.
"""

from __future__ import annotations

import os
import time
import uuid

_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7 in canonical form; ``unix_ms`` fixes the timestamp (for backfills)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else int(unix_ms)
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    rand_a = rand >> 68
    rand_b = rand & _RAND_B_MASK
    value = (ms & _MS_MASK) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))

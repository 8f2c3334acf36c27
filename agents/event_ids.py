"""Event ids made on the client: UUIDv7 (RFC 9562), the idempotency key end to end.

A v7 id starts with the Unix time in milliseconds, so ids sort roughly by creation time
(good for the warehouse's indexes) while 74 random bits keep them unique across processes
and forks without any coordination. Only the stdlib is used: the hooks run inside lab tools.

The random bits come from a private generator seeded from ``os.urandom`` (and re-seeded in
the child after ``fork()``): one ``getrandom`` system call per id cost ~1-10 µs on the calling
thread, and the global ``random`` is out of the question (tools call ``random.seed(42)``).
Ids need to be unique, not unpredictable.
"""

from __future__ import annotations

import os
import random
import time
import uuid

_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1
_rng = random.Random(os.urandom(32))


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7 in canonical form; ``unix_ms`` fixes the timestamp (for backfills)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else int(unix_ms)
    rand = _rng.getrandbits(80)  # 12 bits for rand_a, 62 for rand_b (68 used of 80)
    rand_a = rand >> 68
    rand_b = rand & _RAND_B_MASK
    value = (ms & _MS_MASK) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def _reseed_in_child() -> None:
    _rng.seed(os.urandom(32))  # else parent and child would make the same ids


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_in_child)

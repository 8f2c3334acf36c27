"""Read helpers for the warehouse file.

A DuckDB file that an ingester holds open for writing cannot be opened by another process,
not even read-only (see :mod:`autoscope.warehouse.ingester`). :func:`open_read_only` retries
for a short while, which covers an ingester that is just stopping or starting, and then
raises :class:`WarehouseLocked` with that explanation. Inside the ingester's own process,
use ``Ingester.cursor()`` instead.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from autoscope.warehouse.columns import TABLE_BY_TYPE


class WarehouseLocked(RuntimeError):
    """The warehouse file is held by another process (normally a running ingester)."""


def open_read_only(path: str | Path, timeout_s: float = 5.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse at ``path``, retrying while the file is locked."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}")
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"{path} is locked by another process (a running ingester?); stop it, or"
                    " read through Ingester.cursor() in its process"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def event_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of stored events per event type (every type present, zero when none)."""
    union = " UNION ALL ".join(
        f"SELECT '{type_}' AS type, count(*) AS n FROM {table}" for type_, table in TABLE_BY_TYPE.items()
    )
    return {type_: int(n) for type_, n in conn.execute(union).fetchall()}


def total_events(conn: duckdb.DuckDBPyConnection) -> int:
    """Number of distinct events stored (the rows of ``event_ids``)."""
    return int(conn.execute("SELECT count(*) FROM event_ids").fetchall()[0][0])

"""Numbered migrations: ``migrations/NNN_name.sql`` applied once each, in order.

A migration runs in one transaction together with its row in ``schema_migrations``, so a crash
mid-migration leaves the warehouse at the previous version, never half-way.

The same migrations build the DuckLake warehouse (:mod:`autoscope.warehouse.lake`), with the
PRIMARY KEY and UNIQUE constraints it refuses stripped by :func:`~autoscope.warehouse.lake.lake_compatible`:
every migration that exists, not a list kept apart, so a new one reaches both backends.
"""

from __future__ import annotations

import re
from importlib import resources

import duckdb

from autoscope.warehouse.lake import is_lake, lake_compatible

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration file shipped with the package, in order."""
    found = []
    for entry in resources.files("autoscope.warehouse.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the warehouse (a DuckDB file or a lake) to the newest schema; returns the versions applied now."""
    in_lake = is_lake(conn)
    adapt = lake_compatible if in_lake else str
    conn.execute(
        adapt(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, name, sql in available_migrations():
        if version in applied:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(adapt(sql))
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        done.append(version)
    return done


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The newest applied migration, 0 for an empty file."""
    try:
        rows = conn.execute("SELECT max(version) FROM schema_migrations").fetchall()
    except duckdb.CatalogException:
        return 0
    return int(rows[0][0] or 0)

"""Numbered migrations: ``migrations/NNN_name.sql`` applied once each, in order.

A migration runs in one transaction together with its row in ``schema_migrations``, so a crash
mid-migration leaves the warehouse at the previous version, never half-way.
"""

from __future__ import annotations

import re
from importlib import resources

import duckdb

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
    """Bring the warehouse to the newest schema; returns the versions applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, name, sql in available_migrations():
        if version in applied:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql)
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

"""The lake's pieces (warehouse/lake.py): migrations without keys, snapshots that stay as they were."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from autoscope.warehouse.lake import LakeLocation, connect_lake, current_snapshot, is_lake, lake_compatible
from autoscope.warehouse.schema import available_migrations, migrate, schema_version


def test_keys_are_stripped_and_not_null_kept() -> None:
    sql = """CREATE TABLE a (id VARCHAR PRIMARY KEY,   -- random
        n INTEGER NOT NULL UNIQUE, m INTEGER);
    CREATE TABLE b (x VARCHAR NOT NULL, y INTEGER NOT NULL, PRIMARY KEY (x, y));
    CREATE UNIQUE INDEX b_x ON b (x);"""
    out = lake_compatible(sql)
    assert "PRIMARY" not in out and "UNIQUE" not in out and "INDEX" not in out
    assert out.count("NOT NULL") == 3 and "id VARCHAR," in out


def test_every_migration_applies_to_a_lake_and_the_file_keeps_its_keys(tmp_path: Path) -> None:
    # a DuckDB-file catalog: the DDL is DuckLake's either way, and this needs no PostgreSQL
    lake = connect_lake(LakeLocation(str(tmp_path / "catalog.ducklake"), str(tmp_path / "data")))
    try:
        assert is_lake(lake)
        assert migrate(lake) == [version for version, _, _ in available_migrations()]
        assert schema_version(lake) == available_migrations()[-1][0]
        assert migrate(lake) == []  # once each
    finally:
        lake.close()
    file = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        assert not is_lake(file)
        migrate(file)
        file.execute("INSERT INTO event_ids VALUES ('e', 'task', now()::TIMESTAMP, 't', 0, 0)")
        with pytest.raises(duckdb.ConstraintException):
            file.execute("INSERT INTO event_ids VALUES ('e', 'task', now()::TIMESTAMP, 't', 0, 1)")
    finally:
        file.close()


def test_a_snapshot_reads_as_it_was_and_cannot_be_written(lake_location: LakeLocation) -> None:
    conn = connect_lake(lake_location)
    try:
        migrate(conn)
        conn.execute("INSERT INTO event_ids VALUES ('e1', 'task', now()::TIMESTAMP, 't', 0, 0)")
        then = current_snapshot(conn)
        conn.execute("INSERT INTO event_ids VALUES ('e2', 'task', now()::TIMESTAMP, 't', 0, 1)")
        assert current_snapshot(conn) > then
        at = connect_lake(lake_location, snapshot=then)
        try:
            cursor = at.cursor()  # cursors read the lake too, at the same snapshot
            assert cursor.execute("SELECT list(event_id) FROM event_ids").fetchall() == [(["e1"],)]
            assert current_snapshot(at) == then
            with pytest.raises(duckdb.Error):
                at.execute("INSERT INTO event_ids VALUES ('e3', 'task', now()::TIMESTAMP, 't', 0, 2)")
        finally:
            at.close()
    finally:
        conn.close()


def test_a_location_needs_both_parts_and_hides_a_password() -> None:
    with pytest.raises(ValueError, match="warehouse.catalog"):
        LakeLocation("", "/data")
    with pytest.raises(ValueError, match="warehouse.data_path"):
        LakeLocation("postgres:dbname=x", "")
    assert "secret" not in LakeLocation("postgres:dbname=x password=secret", "/d").describe()

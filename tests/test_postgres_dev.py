"""The throwaway PostgreSQL server (autoscope/postgres_dev.py): starts, serves, leaves nothing."""

from __future__ import annotations

import socket

import pytest

from autoscope.postgres_dev import DevPostgres


def test_a_server_serves_sql_and_its_directory_is_gone_after_stop() -> None:
    with DevPostgres() as pg:
        root = pg.root
        assert root is not None and root.is_dir()
        dsn = pg.create_database("catalog_one")
        assert "dbname=catalog_one" in dsn and f"port={pg.port}" in dsn
        assert pg.url("catalog_one") == f"postgres://autoscope@127.0.0.1:{pg.port}/catalog_one"
        assert pg.psql("SELECT 40 + 2", "catalog_one").strip() == "42"
        with socket.create_connection((pg.host, pg.port), timeout=5):
            pass  # it listens on TCP, where DuckDB's postgres extension and Tansu connect
        port = pg.port
    assert not root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    pg.stop()  # twice is harmless


def test_connection_strings_before_start_say_the_server_is_not_running() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        DevPostgres().dsn()


def test_a_database_name_that_is_not_an_identifier_is_refused(postgres: DevPostgres) -> None:
    with pytest.raises(ValueError, match="database name"):
        postgres.create_database('x"; DROP DATABASE postgres; --')


def test_each_test_database_is_fresh(postgres: DevPostgres, postgres_database: str) -> None:
    name = postgres_database.rsplit("dbname=", 1)[1]
    assert postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name).strip() == "0"

"""The DuckLake warehouse: the same tables as the DuckDB file, in a lake of Parquet data files
whose catalog (tables, snapshots, which file holds what) lives in PostgreSQL.

Why a second backend: a DuckDB file has one writing process and locks out readers from other
processes (hence :mod:`autoscope.warehouse.turns`); a lake has any number of readers, each at a
snapshot of its choosing, and writers that commit through the catalog's transactions. Every
commit is a numbered snapshot, so a release can name the snapshot it was computed from and be
re-derived from it later (:func:`current_snapshot`, ``snapshot=`` of :func:`connect_lake`).

How a connection is made (:func:`connect_lake`): an in-memory DuckDB loads the ``ducklake`` and
``postgres`` extensions *from the installed wheels* (``duckdb-extension-ducklake`` and
``duckdb-extension-postgres``, the ``lake`` extra) with auto-install off, so nothing is ever
downloaded; attaches the lake as ``lake``; and makes it the default database (``USE lake``), so
every query of the file backend runs unchanged. The wheels' files cannot be loaded by path (the
postgres one is ``postgres.duckdb_extension`` but its entry point is ``postgres_scanner``), so
:func:`extension_directory` lays them out as DuckDB's own extension directory and they are loaded
by name.

What the lake does not have: PRIMARY KEY and UNIQUE constraints (DuckLake refuses them). The
migrations are applied with those stripped (:func:`lake_compatible`), and the writer keeps
event ids unique itself (:class:`~autoscope.warehouse.writer.WarehouseWriter` looks them up in
the same transaction) and stores offsets by delete-and-insert instead of ``ON CONFLICT``.

The catalog may be any DuckLake catalog string: ``postgres:<libpq DSN>`` (the multi-process
setup), or a path to a DuckDB catalog file (one process, tests). ``data_path`` is a folder, or
an object store URL (``s3://bucket/prefix/``) once httpfs and a secret are configured
(docs/design.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

import duckdb

#: the name the lake is attached under in every connection
LAKE_ALIAS = "lake"

#: extension name DuckDB loads → (the wheel's import name, the file inside its extensions/<version>/)
_EXTENSION_WHEELS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake.duckdb_extension"),
    "postgres_scanner": ("duckdb_extension_postgres", "postgres.duckdb_extension"),
}


class LakeUnavailable(RuntimeError):
    """The lake backend cannot be used here: its extension wheels are missing or do not match DuckDB."""


@dataclasses.dataclass(frozen=True)
class LakeLocation:
    """Where a lake is: its catalog (``postgres:<DSN>`` or a catalog file's path) and its data files.

    ``data_path``: a folder (created when missing) or an object-store prefix; DuckLake records
    it in the catalog on first attach.
    """

    catalog: str
    data_path: str

    def __post_init__(self) -> None:
        if not self.catalog:
            raise ValueError("warehouse.catalog: empty; give postgres:<DSN> or a catalog file path")
        if not self.data_path:
            raise ValueError("warehouse.data_path: empty; give a folder or an s3:// prefix for the data files")

    def describe(self) -> str:
        """The location without credentials: what a manifest or a log line may show."""
        catalog = re.sub(r"(password=)\S+", r"\1***", self.catalog)
        return f"ducklake:{catalog} (data {self.data_path})"


def extension_directory() -> Path:
    """A DuckDB extension directory holding the lake's two extensions from their wheels (symlinks).

    Made once per user, Python environment and DuckDB version under the temp directory (one per
    environment: a link into another virtualenv would dangle once that one is removed);
    idempotent and safe when several processes make it at once (each link is made under a
    temporary name and renamed).
    """
    version = duckdb.__version__
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]  # type: ignore[index]
    environment = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"autoscope-duckdb-extensions-{os.getuid()}-{environment}"
    target_dir = root / f"v{version}" / platform
    target_dir.mkdir(parents=True, exist_ok=True)
    for name, (module_name, file_name) in _EXTENSION_WHEELS.items():
        link = target_dir / f"{name}.duckdb_extension"
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise LakeUnavailable(
                f"the lake backend needs the {module_name.replace('_', '-')} wheel: pip install 'autoscope[lake]'"
            ) from exc
        source = Path(module.__file__).parent / "extensions" / f"v{version}" / file_name
        if not source.exists():
            raise LakeUnavailable(
                f"{module_name} has no extension for DuckDB {version} (looked for {source}); "
                "the extension wheels and duckdb must be the same release"
            )
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        temporary = target_dir / f".{name}.{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source)
        os.replace(temporary, link)
    return root


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LakeConnection:
    """A DuckDB connection whose default database is the lake, and so are its cursors'.

    ``USE`` is a setting of one connection, and a DuckDB cursor is a new connection to the same
    database instance: without this, ``conn.cursor()`` (which the ingester, the jobs' threads and
    the readers all use) would be back in the in-memory database. Everything else is the
    wrapped :class:`duckdb.DuckDBPyConnection`'s (attribute access is passed through).
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The wrapped DuckDB connection (for APIs that insist on the real type)."""
        return self._conn

    def cursor(self) -> LakeConnection:
        cursor = self._conn.cursor()
        cursor.execute(f"USE {LAKE_ALIAS}")
        return LakeConnection(cursor)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._conn, name)

    def __enter__(self) -> LakeConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()


def connect_lake(
    location: LakeLocation,
    *,
    snapshot: int | None = None,
    config: dict[str, str | int] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the lake (``USE lake``), its cursors' too
    (a :class:`LakeConnection`, typed as the DuckDB connection it behaves as).

    ``snapshot``: attach read-only at that snapshot (time travel): a release is read, and
    re-derived, from one. Without it the connection reads and writes the lake's newest state.
    """
    settings: dict[str, str | int | bool] = {
        "extension_directory": str(extension_directory()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        **(config or {}),
    }
    conn = duckdb.connect(config=settings)
    try:
        conn.execute("LOAD ducklake")
        if location.catalog.startswith("postgres:"):
            conn.execute("LOAD postgres_scanner")
        if "://" not in location.data_path:
            Path(location.data_path).mkdir(parents=True, exist_ok=True)
        options = [f"DATA_PATH {_quoted(location.data_path)}"]
        if snapshot is not None:
            options += [f"SNAPSHOT_VERSION {int(snapshot)}", "READ_ONLY"]
        conn.execute(f"ATTACH {_quoted('ducklake:' + location.catalog)} AS {LAKE_ALIAS} ({', '.join(options)})")
        conn.execute(f"USE {LAKE_ALIAS}")
    except BaseException:
        conn.close()
        raise
    return LakeConnection(conn)  # type: ignore[return-value]


def is_lake(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``conn``'s default database is a DuckLake (else it is a DuckDB file or memory)."""
    rows = conn.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return bool(rows) and rows[0][0] == "ducklake"


def current_snapshot(conn: duckdb.DuckDBPyConnection) -> int:
    """The snapshot ``conn`` reads: the newest committed one, or the one it was attached at."""
    database = conn.execute("SELECT current_database()").fetchall()[0][0]
    rows = conn.execute(f"FROM ducklake_current_snapshot({_quoted(database)})").fetchall()
    return int(rows[0][0])


# PRIMARY KEY / UNIQUE: DuckLake refuses them. A column's (`col TYPE PRIMARY KEY`) and a table's
# (`, PRIMARY KEY (a, b)`) are removed; NOT NULL, which DuckLake keeps, stays.
_TABLE_KEY = re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.IGNORECASE)
_COLUMN_KEY = re.compile(r"\s+(?:PRIMARY\s+KEY|UNIQUE)\b(?!\s*\()", re.IGNORECASE)
_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*;", re.IGNORECASE)


def lake_compatible(sql: str) -> str:
    """A migration's SQL as DuckLake takes it: keys and indexes dropped (the writer keeps event ids
    unique itself; the other keyed tables are written whole by one job at a time)."""
    sql = _TABLE_KEY.sub("", sql)
    sql = _COLUMN_KEY.sub("", sql)
    return _INDEX.sub("", sql)


__all__ = [
    "LAKE_ALIAS",
    "LakeConnection",
    "LakeLocation",
    "LakeUnavailable",
    "connect_lake",
    "current_snapshot",
    "extension_directory",
    "is_lake",
    "lake_compatible",
]

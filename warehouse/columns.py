"""Decoded events → rows of their event type's DuckDB table, laid out as that table is.

The layout comes from the warehouse itself (``information_schema``), so a migration that adds
a column whose name is a field of the contract (:mod:`autoscope.core.contract`) flows through
without code changes; ``tests/test_contract_drift.py`` holds the migrations to the contract. Each
row is the envelope (``event_id``, ``occurred_at``, ``actor``, ``team``, ``tool`` =
``source.tool``, ``tool_version`` = ``source.version``) followed by the fields of the type.

The ingester does not build rows in Python: :meth:`TableLayout.insert_sql` inserts from the
canonical JSON of validated events (``msgspec``'s encoding of the decoded Structs, one object a
row) with DuckDB's ``from_json``, in C and without the GIL. The JSON structure asks for the
widest type of each column (integers as HUGEINT, times as text) and the INSERT casts to the
column's type, so a value the column cannot hold fails the statement instead of becoming NULL
(``from_json`` turns a BIGINT overflow into NULL silently). Times carry their offset in the
JSON and are stored as UTC whatever the connection's TimeZone setting.

:meth:`TableLayout.build` makes the same rows as an Arrow table, for the ingest benchmark's
bulk-insert baseline (``benchmarks/bench_ingest.py``); there times become naive UTC
(``TIMESTAMP``), since pyarrow converts an aware datetime to UTC when the type has no zone.

:func:`table_layouts` refuses a schema that would silently drop a field of the contract.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import duckdb
import pyarrow as pa

from autoscope.core import contract, structs

#: event type → warehouse table.
TABLE_BY_TYPE: dict[str, str] = {
    "task": "tasks",
    "review": "reviews",
    "experiment": "experiments",
    "contribution": "contributions",
    "model_deployment": "model_deployments",
    "training_milestone": "training_milestones",
    "impression": "impressions",
    "spend": "spend",
    "agent_turn_fact": "agent_turn_facts",
    "incident": "incidents",
    "permission": "permissions",
    "time_allocation": "time_allocations",
    "line_survival": "line_survival",
}

#: columns filled from somewhere other than the field of the same name (the split ``source``).
_RENAMED: dict[str, str] = {column: path for column, path in contract.ENVELOPE_COLUMNS.items() if column != path}
#: Struct fields that are not stored in the type tables (type is the table, source is split).
_NOT_STORED = {"type", "schema_version", "source"}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "VARCHAR[]": pa.list_(pa.string()),
}

#: column type → (type asked of ``from_json``, SQL of the stored value given ``{}`` = the field)
_JSON_TYPES: dict[str, tuple[Any, str]] = {
    "VARCHAR": ("VARCHAR", "{}"),
    # msgspec writes aware times as RFC 3339 with ``Z`` (UTC) or ``±HH:MM``: the instant in UTC.
    # A TIMESTAMP cast ignores an offset, so only ``Z`` takes the cheap cast (~0.6 µs less per
    # event than TIMESTAMPTZ, whose cast is the one that reads the offset)
    "TIMESTAMP": (
        "VARCHAR",
        "CASE WHEN ends_with({0}, 'Z') THEN CAST({0} AS TIMESTAMP)"
        " ELSE make_timestamp(epoch_us(CAST({0} AS TIMESTAMPTZ))) END",
    ),
    "DOUBLE": ("DOUBLE", "{}"),
    "FLOAT": ("DOUBLE", "{}"),
    "INTEGER": ("HUGEINT", "{}"),
    "BIGINT": ("HUGEINT", "{}"),
    "BOOLEAN": ("BOOLEAN", "{}"),
    "VARCHAR[]": (["VARCHAR"], "{}"),
}
#: defaults that depend on other fields (``default_from`` in the contract, filled in by the
#: collector's ``normalize``), for events that arrive without them: the warehouse must not
#: refuse an event the contract accepts.
_DEFAULTS: dict[tuple[str, str], str] = {
    (event_type, field.name): f"coalesce({{}}, j.{field.default_from})"
    for event_type, fields in contract.EVENTS.items()
    for field in fields
    if field.default_from
}


@dataclasses.dataclass(frozen=True)
class TableLayout:
    """How one event type becomes rows of its table."""

    event_type: str
    table: str
    schema: pa.Schema
    getters: tuple[Callable[[Any], Any], ...]
    #: ``from_json`` structure of one event object, and the SQL of each column over it (``j``)
    json_structure: str = ""
    json_columns: tuple[str, ...] = ()

    def insert_sql(self, view: str) -> str:
        """INSERT of this type's rows among the canonical event JSON lines in column ``v`` of
        ``view`` (events of all types: msgspec writes the tag first, ``{"type":"task",…``)."""
        return (
            f"INSERT INTO {self.table} BY NAME SELECT {', '.join(self.json_columns)}"
            f" FROM (SELECT from_json(v, '{self.json_structure}') AS j FROM {view}"
            f' WHERE starts_with(v, \'{{"type":"{self.event_type}",\'))'
        )

    def build(self, events: Sequence[structs.Envelope]) -> pa.Table:
        """The rows of ``events`` (all of this type) as one Arrow table."""
        arrays = [
            pa.array(list(map(getter, events)), type=field.type) for getter, field in zip(self.getters, self.schema)
        ]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def event_type(event: structs.Envelope) -> str:
    """The ``type`` tag of a decoded event (msgspec keeps it in the class, not the instance)."""
    return structs.event_type(event)


def table_layouts(conn: duckdb.DuckDBPyConnection) -> dict[str, TableLayout]:
    """A :class:`TableLayout` per event type, read from the warehouse's current schema."""
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'main' AND list_contains(?, table_name)"
        " ORDER BY table_name, ordinal_position",
        [list(TABLE_BY_TYPE.values())],
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    layouts = {}
    for event_type, table in TABLE_BY_TYPE.items():
        if table not in columns:
            raise RuntimeError(f"warehouse has no table {table!r} for event type {event_type!r}")
        struct_fields = {field.name for field in (*contract.ENVELOPE, *contract.EVENTS[event_type])}
        stored = {column for column, _ in columns[table]}
        missing = sorted(struct_fields - _NOT_STORED - stored)
        if missing:
            raise RuntimeError(f"table {table!r} has no column for field(s) {missing}")
        fields, getters = [], []
        structure: dict[str, Any] = {}
        selects = []
        for column, data_type in columns[table]:
            source = _RENAMED.get(column, column)
            if source.split(".")[0] not in struct_fields:
                raise RuntimeError(f"column {table}.{column} matches no field of {event_type!r}")
            if data_type not in _ARROW_TYPES:
                raise RuntimeError(f"column {table}.{column}: unsupported type {data_type}")
            fields.append(pa.field(column, _ARROW_TYPES[data_type]))
            getters.append(attrgetter(source))
            json_type, value = _JSON_TYPES[data_type]
            node, path = structure, source.split(".")
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = json_type
            value = value.format("j." + ".".join(f'"{part}"' for part in path))
            value = _DEFAULTS.get((event_type, column), "{}").format(value)
            selects.append(f'{value} AS "{column}"')
        layouts[event_type] = TableLayout(
            event_type,
            table,
            pa.schema(fields),
            tuple(getters),
            json.dumps(structure, separators=(",", ":")),
            tuple(selects),
        )
    return layouts

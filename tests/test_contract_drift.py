"""The one drift test: everything that restates the event contract agrees with its one table,
``core/contract.py`` — the msgspec Structs, the hooks' enums and semantic-convention fields,
the semantic-conventions document, the warehouse's migrations and table map, the ladder.

Versions are additive (core/contract.py): a field added after revision 1 is optional and its
column arrives with that revision's migration, never before.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import duckdb
import msgspec
import pytest

from autoscope.agents import events, semconv
from autoscope.collector import contract as collector_contract
from autoscope.core import contract, structs
from autoscope.pipelines.indicators import ladder
from autoscope.warehouse.columns import TABLE_BY_TYPE
from autoscope.warehouse.schema import available_migrations

ROOT = Path(__file__).resolve().parents[1]
TYPE_FIELDS = [(type_, field) for type_, fields in contract.EVENTS.items() for field in fields]


def columns(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, tuple[str, bool]]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return {name: (data_type, nullable == "YES") for name, data_type, nullable in rows}


@pytest.fixture(scope="module")
def schema_after(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, tuple[str, bool]]]]:
    """Migration file name → the type tables' columns once it is applied (a real DuckDB file)."""
    conn = duckdb.connect(str(tmp_path_factory.mktemp("drift") / "warehouse.duckdb"))
    after = {}
    for version, name, sql in available_migrations():
        conn.execute(sql)
        after[f"{version:03d}_{name}.sql"] = {table: columns(conn, table) for table in TABLE_BY_TYPE.values()}
    conn.close()
    return after


def test_the_migrated_warehouse_has_exactly_the_contracts_columns(schema_after: dict) -> None:
    assert list(TABLE_BY_TYPE) == list(contract.EVENT_TYPES)
    newest = list(schema_after.values())[-1]
    for type_, table in TABLE_BY_TYPE.items():
        assert newest[table] == contract.column_types(type_), table


@pytest.mark.parametrize("type_, field", TYPE_FIELDS, ids=[f"{t}.{f.name}" for t, f in TYPE_FIELDS])
def test_versions_are_additive(type_: str, field: contract.Field, schema_after: dict) -> None:
    """A field arrives optional, with its revision's migration; nothing is added before it. (A
    type added in a later revision may require its own fields: no older sender sends it.)"""
    assert field.since in contract.REVISIONS
    if field.since > contract.TYPE_SINCE.get(type_, 1):
        assert field.optional, f"{type_}.{field.name} was added in revision {field.since}: it must be optional"
    migration = contract.REVISIONS[field.since][1]
    names = list(schema_after)
    assert migration in names
    table = TABLE_BY_TYPE[type_]
    arrived = names.index(migration)
    for index, name in enumerate(names):
        assert (field.name in schema_after[name][table]) == (index >= arrived), (type_, field.name, name)


def test_the_structs_are_the_table() -> None:
    envelope = [field.name for field in contract.ENVELOPE]
    assert list(structs.Envelope.__struct_fields__) == envelope
    assert list(structs.Source.__struct_fields__) == [field.name for field in contract.SOURCE]
    for type_, fields in contract.EVENTS.items():
        cls = structs.STRUCT_BY_TYPE[type_]
        assert cls.__struct_config__.tag == type_
        assert getattr(structs, cls.__name__) is cls  # importable by name: pickle finds it
        assert cls.__struct_config__.forbid_unknown_fields
        assert list(cls.__struct_fields__) == envelope + [field.name for field in fields]
        info = {f.name: f for f in msgspec.inspect.type_info(cls).fields}
        for field in fields:
            assert info[field.name].required == (not field.optional), (type_, field.name)
            if field.values:
                assert collector_contract._ALLOWED[(type_, field.name)] == field.values
    hints = typing.get_type_hints(structs.Task, include_extras=True)
    assert typing.get_args(hints["executor"]) == contract.EXECUTORS


def test_the_hooks_speak_the_table() -> None:
    assert events.SCHEMA_VERSION == collector_contract.SCHEMA_VERSION == contract.SCHEMA_VERSION
    by_name = {(type_, field.name): field.values for type_, field in TYPE_FIELDS if field.values}
    assert events.TASK_EXECUTORS == by_name[("task", "executor")]
    assert events.EXECUTORS == by_name[("experiment", "designed_by")]
    assert events.AUTHORS == by_name[("contribution", "first_author")]
    assert events.RUNGS == by_name[("task", "rung")] == ladder.RUNGS
    assert list(semconv.FIELDS) == list(contract.EVENT_TYPES)
    assert semconv.FIELDS["task"][1] == ("executor", "string", False)
    assert ("score", "int", True) in semconv.FIELDS["impression"]


def semantic_conventions_rows() -> dict[tuple[str, str], tuple[str, str]]:
    """(attribute, event type or ``all``) → (type, meaning) from docs/semantic-conventions.md
    (an attribute of two types with different values, e.g. ``category``, has a row each)."""
    rows = {}
    for line in (ROOT / "docs" / "semantic-conventions.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`autoscope."):
            for attribute in re.findall(r"`(autoscope\.[\w.]+)`", cells[0]):
                for type_ in cells[2].split(","):
                    rows[(attribute, type_.strip())] = (cells[1], cells[3])
    return rows


def test_the_semantic_conventions_document_lists_every_field() -> None:
    rows = semantic_conventions_rows()
    for field in (*contract.ENVELOPE, *(f for f in contract.SOURCE)):
        if field.kind in ("schema_version", "source"):
            continue
        name = f"autoscope.source.{field.name}" if field in contract.SOURCE else f"autoscope.{field.name}"
        assert (name, "all") in rows, name
    for type_, field in TYPE_FIELDS:
        assert (f"autoscope.{field.name}", type_) in rows, (type_, field.name)
        kind, meaning = rows[(f"autoscope.{field.name}", type_)]
        assert kind.startswith(field.attribute_type.removesuffix(")")), (type_, field.name, kind)
        for value in field.values:
            assert f"`{value}`" in meaning, (type_, field.name, value)

"""Reading one typed value out of an event's JSON attributes, on every backend.

``JsonField(events.c.attributes, "plan", "string")`` is a SQL expression that is
the attribute's value when the JSON holds a value of that kind there, and NULL
otherwise (missing key, JSON null, or another kind: a number written as text is
text, not a number). Each backend spells the type test differently, so the
construct compiles per dialect, always with the key as a bound parameter:

- SQLite: ``json_type(col, '$."key"')`` and ``json_extract``;
- PostgreSQL: ``json_typeof(col -> key)`` and ``col ->> key``;
- DuckDB: ``json_type(col, '$."key"')`` and ``json_extract_string``.

Booleans come out as the text ``'true'`` / ``'false'``; numbers as double precision.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Double, String, bindparam, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import JSON

JsonKind = Literal["string", "number", "boolean"]


class JsonField(ColumnElement[Any]):
    """The value of ``key`` in the JSON ``column`` if it is of ``kind``, else NULL."""

    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], key: str, kind: JsonKind) -> None:
        self.column = column
        self.json_key = key
        self.kind = kind
        self.type = Double() if kind == "number" else String()


def _path(key: str) -> Any:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return bindparam(None, f'$."{escaped}"', type_=String(), unique=True)


@compiles(JsonField, "sqlite")
def _sqlite(element: JsonField, compiler: SQLCompiler, **kw: Any) -> str:
    kind_of: ColumnElement[Any]
    value: ColumnElement[Any]
    if '"' in element.json_key:
        # SQLite's JSON paths cannot name a key holding a double quote; json_each can.
        each = func.json_each(element.column).table_valued("key", "value", "type")
        match = each.c.key == bindparam(None, element.json_key, type_=String(), unique=True)
        kind_of = select(each.c.type).where(match).scalar_subquery()
        value = select(each.c.value).where(match).scalar_subquery()
    else:
        path = _path(element.json_key)
        kind_of = func.json_type(element.column, path)
        value = func.json_extract(element.column, path)
    expression: ColumnElement[Any]
    if element.kind == "string":
        expression = case((kind_of == "text", value))
    elif element.kind == "number":
        expression = case((kind_of.in_(["integer", "real"]), cast(value, Double())))
    else:
        expression = case((kind_of == "true", "true"), (kind_of == "false", "false"))
    return compiler.process(expression, **kw)


@compiles(JsonField, "duckdb")
def _duckdb(element: JsonField, compiler: SQLCompiler, **kw: Any) -> str:
    path = _path(element.json_key)
    kind_of = func.json_type(element.column, path)
    text = func.json_extract_string(element.column, path)
    expression: ColumnElement[Any]
    if element.kind == "string":
        expression = case((kind_of == "VARCHAR", text))
    elif element.kind == "number":
        expression = case(
            (kind_of.in_(["BIGINT", "UBIGINT", "DOUBLE", "HUGEINT"]), cast(text, Double()))
        )
    else:
        expression = case((kind_of == "BOOLEAN", text))
    return compiler.process(expression, **kw)


@compiles(JsonField)
def _postgresql(element: JsonField, compiler: SQLCompiler, **kw: Any) -> str:
    """PostgreSQL (and the default for backends that speak its JSON operators)."""
    column: Any = element.column
    if not isinstance(column.type, JSON):
        column = cast(column, JSON())
    item = column[bindparam(None, element.json_key, type_=String(), unique=True)]
    kind_of = func.json_typeof(item)
    text = item.as_string()
    expression: ColumnElement[Any]
    if element.kind == "string":
        expression = case((kind_of == "string", text))
    elif element.kind == "number":
        expression = case((kind_of == "number", cast(text, Double())))
    else:
        expression = case((kind_of == "boolean", text))
    return compiler.process(expression, **kw)

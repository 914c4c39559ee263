"""Reads written as SQL, for what every page request runs (issue 14).

Measured on the bench database: the ORM took 3.2 ms to build, compile, run and turn into
model instances a query of eight dependencies with five joins; the same statement as SQL
took 0.26 ms (PostgreSQL runs it prepared in under 0.1 ms). On a page with five such
queries that is most of its time, so the hottest reads are SQL through here: tables named
from the models (never typed), values always as parameters, rows as named tuples.

Both databases answer the same SQL; what differs in what comes back is mended here: SQLite
returns timestamps without a zone (Django stores them in UTC), so they get UTC, as the ORM
would give them.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar, cast

from django.db import connection, models
from django.utils.dateparse import parse_datetime

_WORD = re.compile(r"[a-z][a-z0-9_]*")


def table(model: type[models.Model]) -> str:
    """A model's table, quoted for the connection's SQL."""
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _row_class(names: tuple[str, ...]) -> Any:
    # One class per column list, made once per process (making one costs ~50 µs).
    return namedtuple("Row", names)


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def rows(
    sql: str, params: Sequence[Any] | dict[str, Any], *, datetimes: Sequence[str] = ()
) -> list[Any]:
    """The statement's rows, each a named tuple of its columns (named by the SELECT's
    aliases).

    ``datetimes``: the computed columns (a subquery's, say) that hold timestamps. SQLite
    gives a table's column its declared type but a computed one as text; these are read
    back as timestamps there (PostgreSQL types them itself)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _fetched(cursor, datetimes)


def _fetched(cursor: Any, datetimes: Sequence[str]) -> list[Any]:
    names = tuple(column[0] for column in cursor.description)
    make = _row_class(names)
    found = cursor.fetchall()
    if connection.vendor != "sqlite":
        return [make._make(row) for row in found]
    texts = {names.index(name) for name in datetimes}
    return [
        make._make(
            _aware(parse_datetime(v) if i in texts and isinstance(v, str) else v)
            for i, v in enumerate(row)
        )
        for row in found
    ]


T = TypeVar("T")


class Read(Generic[T]):
    """A statement and what its rows make (``build(rows)``), to be run with a page's other
    independent reads in one round trip (``run``); ``get()`` runs it alone."""

    __slots__ = ("_done", "_value", "build", "datetimes", "params", "sql")

    def __init__(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any],
        build: Callable[[list[Any]], T],
        *,
        datetimes: Sequence[str] = (),
    ) -> None:
        self.sql, self.params, self.build, self.datetimes = sql, params, build, datetimes
        self._done = False
        self._value: T | None = None

    def done(self, found: list[Any]) -> None:
        self._value, self._done = self.build(found), True

    @property
    def value(self) -> T:
        if not self._done:
            raise RuntimeError("Read.value before the read ran (sql.run).")
        return cast(T, self._value)

    def get(self) -> T:
        run(self)
        return self.value


def run(*reads: Read[Any]) -> None:
    """Each read's statement, then its value (``read.value``). On PostgreSQL every statement
    is sent before any answer is awaited (psycopg's pipeline mode): one round trip for all,
    where one after another waits for each (measured on the team view's six reads: 4.6–5.1
    ms one after another, 3.0–3.5 pipelined). Each statement still goes through Django's
    cursor, so it is counted and wrapped as any other query. Elsewhere, one after another."""
    if connection.vendor != "postgresql" or len(reads) < 2:
        for read in reads:
            read.done(rows(read.sql, read.params, datetimes=read.datetimes))
        return
    connection.ensure_connection()
    cursors = [connection.cursor() for _ in reads]
    try:
        # An error comes out when the pipeline syncs, outside the cursor's own wrapping:
        # raised as Django's error, as a query run alone would raise it.
        with connection.wrap_database_errors, connection.connection.pipeline():
            for cursor, read in zip(cursors, reads, strict=True):
                cursor.execute(read.sql, read.params)
        for cursor, read in zip(cursors, reads, strict=True):
            read.done(_fetched(cursor, read.datetimes))
    finally:
        for cursor in cursors:
            cursor.close()


def param(model: type[models.Model], field: str, value: Any) -> Any:
    """``value`` as the connection stores ``model``'s ``field``, for a write in SQL: SQLite
    keeps a timestamp as UTC text without a zone and a UUID as 32 hex digits, and compares
    them as text, so a parameter must be written as the ORM writes it."""
    found = model._meta.get_field(field)
    assert isinstance(found, models.Field), f"{model.__name__}.{field} is not a column"
    return found.get_db_prep_save(value, connection)


def insert_columns(
    model: type[models.Model], values: dict[str, Any], expressions: dict[str, str]
) -> tuple[str, str, list[Any]]:
    """For ``INSERT INTO t (<columns>) SELECT <selected> FROM ...``, every column of
    ``model`` but its key: ``expressions`` name SQL for some fields (a source's column),
    ``values`` give parameters for others, and every other field takes its default, as
    ``Model()`` would give it (a field without one, say ``auto_now_add``, must be given). A
    field added later gets its default here without this statement changing."""
    columns: list[str] = []
    selected: list[str] = []
    params: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in expressions:
            selected.append(expressions[field.name])
            continue
        value = values[field.name] if field.name in values else field.get_default()
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name} has no default: give it a value.")
        selected.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    return ", ".join(columns), ", ".join(selected), params


def placeholders(values: Sequence[Any]) -> str:
    """An IN list's positional placeholders for ``values`` (passed as parameters in order);
    ``NULL`` for none, which matches nothing where an empty list would be a syntax error."""
    return ", ".join(["%s"] * len(values)) or "NULL"


def named(params: dict[str, Any], prefix: str, values: Sequence[Any]) -> str:
    """An IN list of named placeholders for ``values``, added to ``params`` as
    ``<prefix>0``, ``<prefix>1``...; ``NULL`` for none, as ``placeholders``."""
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f"%({prefix}{i})s")
    return ", ".join(names) or "NULL"


def constants(values: Iterable[str]) -> str:
    """The code's own constants (choices' values) as SQL literals, for an IN list: written
    into the statement, not passed as parameters, where a partial index's condition must
    match them. PostgreSQL plans a prepared statement once for any parameters, and a
    parameter can't prove the condition of an index such as ``status IN ('committed',
    'at_risk')``; the literals can. Only plain words are accepted: never user input."""
    found = list(values)
    for value in found:
        if not _WORD.fullmatch(value):
            raise ValueError(f"Not a constant for SQL: {value!r}")
    return ", ".join(f"'{value}'" for value in found)


class Paged:
    """A list read a page at a time, as Django's and DRF's paginators read a queryset:
    ``count()`` (one query) and a slice (one query for its rows); iterating reads them all.
    A subclass gives ``count`` and ``_rows(limit, offset)`` (``limit`` None: to the end)."""

    def count(self) -> int:
        raise NotImplementedError

    def _rows(self, limit: int | None, offset: int) -> list[Any]:
        raise NotImplementedError

    def __getitem__(self, key: slice) -> list[Any]:
        if not isinstance(key, slice) or key.step is not None:
            raise TypeError("Read a page (a slice) at a time.")
        start = key.start or 0
        return self._rows(None if key.stop is None else max(0, key.stop - start), start)

    def __iter__(self) -> Any:
        return iter(self._rows(None, 0))


def decimal(value: Any, places: int = 2) -> Decimal:
    """A numeric column's value as the ORM gives it: PostgreSQL returns a Decimal, SQLite a
    number of its own (an int or a float), quantized here to the column's places."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


class Person:
    """A user read as SQL, named as a user is (``get_full_name``, ``get_username``), for the
    name helpers (``okrly.models.display_name``, the person chip)."""

    __slots__ = ("first_name", "last_name", "pk", "team_name", "username")

    def __init__(
        self,
        pk: int,
        username: str,
        first_name: str,
        last_name: str,
        team_name: str | None = None,
    ) -> None:
        self.pk = pk
        self.username = username
        self.first_name = first_name
        self.last_name = last_name
        # The team a picker names the person by (okrly.forms.person_label), when read.
        self.team_name = team_name

    @classmethod
    def columns(cls, alias: str, prefix: str) -> str:
        """A statement's four columns of the user joined as ``alias``, named with ``prefix``
        (``<prefix>id``, ``<prefix>username``, ``<prefix>first``, ``<prefix>last``), which
        ``of`` reads back."""
        return (
            f"{alias}.id AS {prefix}id, {alias}.username AS {prefix}username, "
            f"{alias}.first_name AS {prefix}first, {alias}.last_name AS {prefix}last"
        )

    @classmethod
    def of(cls, row: Any, prefix: str) -> Person:
        """The person a row's ``columns(alias, prefix)`` read."""
        return cls(
            getattr(row, f"{prefix}id"),
            getattr(row, f"{prefix}username"),
            getattr(row, f"{prefix}first"),
            getattr(row, f"{prefix}last"),
        )

    def get_full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


def full_name(first: str, last: str) -> str:
    """``User.get_full_name()`` from the two columns."""
    return f"{first} {last}".strip()


def person(first: str, last: str, username: str) -> str:
    """``okrly.models.display_name`` from the three columns: full name, else username."""
    return full_name(first, last) or username

"""ORM queries compiled to SQL once per process, then run again with new values.

Django builds and compiles a queryset afresh every time it runs; for a query
with a few subqueries that costs 1-2 ms of Python, several times what the
database takes to answer it. On the paths every request or every ballot takes
(loading the request's user with their roles, the poll a ballot is for,
casting) that was the larger part of the work, so those queries are written
with the ORM as usual, compiled once here, and run as raw SQL with only their
values changed.

On PostgreSQL they are also planned once per connection: each is sent as a
server-side prepared statement (psycopg's `prepare=True`), where Django sends
every query as text with its values inlined, to be planned afresh. Planning the
casting statement took 0.6 ms of PostgreSQL's CPU, three times running it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import F, Model, QuerySet
from django.utils.asyncio import async_unsafe

M = TypeVar("M", bound=Model)

# Stand-ins for the values while compiling: ids no primary key takes, and
# instants in the first century.
_SENTINEL_ID = -(2**40)
_SENTINEL_TIME = datetime(1, 1, 1, tzinfo=UTC)


class PreparedQuery(Generic[M]):
    """`build(**values)` compiled once per database vendor; `run(**values)` runs it again.

    Every positional slot names an integer id (a primary key) and every slot in
    `datetimes` an aware datetime; each must reach the SQL as a parameter, which
    compiling checks. With `for_share`, the rows of the queryset's own table are
    read under a shared row lock on PostgreSQL (Django's select_for_update has
    no FOR SHARE).

    `related` loads objects along foreign keys in the same statement, as
    select_related would, but only the fields named (`{"contest": ("title",),
    "contest__rules": ("seats",)}`); the rest are deferred, so reading one of
    them still works, at the cost of a query. Name only fields whose column
    needs no conversion (text, numbers, booleans, times, keys): their values
    come as the database driver gives them.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[M]],
        *slots: str,
        datetimes: Iterable[str] = (),
        related: Mapping[str, Iterable[str]] | None = None,
        for_share: bool = False,
    ) -> None:
        self._build = build
        self._slots = slots
        self._datetimes = tuple(datetimes)
        self._related = {path: tuple(fields) for path, fields in (related or {}).items()}
        self._for_share = for_share
        self._compiled: dict[str, _Compiled[M]] = {}

    def run(self, **values: Any) -> list[M]:
        """The rows for these values, as model instances with their related objects."""
        db = _default_database()
        return self._compiled_for(db).fetch(db, values)

    def run_within(self, statement: str, extra: Sequence[Any], **values: Any) -> list[M]:
        """Run `statement`, where `{query}` stands for this query, as a larger one.

        `extra` are the statement's own parameters, all of which must come
        after `{query}` in its text (they follow the query's own). Its rows
        are read as `run` reads them: columns that are not the model's fields
        become attributes.
        """
        db = _default_database()
        return self._compiled_for(db).fetch(db, values, statement, extra)

    def _compiled_for(self, db: BaseDatabaseWrapper) -> _Compiled[M]:
        return self._compiled.get(db.vendor) or self._compile(db)

    def _compile(self, db: BaseDatabaseWrapper) -> _Compiled[M]:
        ops = db.ops
        ids = {_SENTINEL_ID - n: slot for n, slot in enumerate(self._slots)}
        times = {
            _SENTINEL_TIME + timedelta(seconds=n): slot for n, slot in enumerate(self._datetimes)
        }
        queryset = self._build(
            **{slot: value for value, slot in ids.items()},
            **{slot: value for value, slot in times.items()},
        )
        aliases: dict[str, list[tuple[str, str]]] = {}
        for n, (path, names) in enumerate(self._related.items()):
            model = _model_at(queryset.model, path)
            # Model.from_db takes the values in the order of the model's fields.
            wanted = {model._meta.pk.name, *names}
            fields = [f.name for f in model._meta.concrete_fields if f.name in wanted]
            if len(fields) != len(wanted):
                raise ValueError(f"not fields of {model.__name__}: {sorted(wanted - {*fields})}")
            aliases[path] = [
                (model._meta.get_field(name).attname, f"prepared_{n}_{name}") for name in fields
            ]
            queryset = queryset.annotate(
                **{
                    alias: F(f"{path}__{name}")
                    for name, (_, alias) in zip(fields, aliases[path], strict=True)
                }
            )
        sql, params = queryset.query.sql_with_params()
        # Each parameter that is a stand-in becomes a slot; datetimes are matched
        # as the backend adapts them (SQLite turns them into text).
        adapted_times = {ops.adapt_datetimefield_value(t): slot for t, slot in times.items()}
        where: dict[int, tuple[str, bool]] = {}
        for i, value in enumerate(params):
            if type(value) is int and value in ids:
                where[i] = (ids[value], False)
            elif isinstance(value, datetime | str) and value in adapted_times:
                where[i] = (adapted_times[value], True)
        missing = {*self._slots, *self._datetimes} - {slot for slot, _ in where.values()}
        if missing:
            raise ValueError(f"these values never reach the SQL: {sorted(missing)}")
        if self._for_share and db.vendor == "postgresql":
            sql = f"{sql} FOR SHARE OF {ops.quote_name(queryset.model._meta.db_table)}"
        compiled = _Compiled(queryset.model, sql, tuple(params), where, aliases)
        self._compiled[db.vendor] = compiled
        return compiled


# Makes a model instance of a row, with the connection the row came from.
_Reader = Callable[[tuple[Any, ...], BaseDatabaseWrapper], M]


class _Compiled(Generic[M]):
    def __init__(
        self,
        model: type[M],
        sql: str,
        params: tuple[Any, ...],
        where: dict[int, tuple[str, bool]],
        aliases: dict[str, list[tuple[str, str]]],
    ) -> None:
        self.model, self.sql, self.params, self.where, self.aliases = (
            model, sql, params, where, aliases
        )  # fmt: skip
        self._readers: dict[tuple[str, ...], _Reader[M]] = {}
        # Each statement this query runs within, with the query put in.
        self._statements: dict[str, str] = {}

    def bind(self, db: BaseDatabaseWrapper, values: Mapping[str, Any]) -> list[Any]:
        adapt = db.ops.adapt_datetimefield_value
        bound = list(self.params)
        for i, (slot, is_time) in self.where.items():
            bound[i] = adapt(values[slot]) if is_time else values[slot]
        return bound

    def fetch(
        self,
        db: BaseDatabaseWrapper,
        values: Mapping[str, Any],
        statement: str = "{query}",
        extra: Sequence[Any] = (),
    ) -> list[M]:
        sql = self._statements.get(statement)
        if sql is None:
            sql = self._statements[statement] = statement.format(query=self.sql)
        with _cursor(db) as cursor:
            cursor.execute(sql, [*self.bind(db, values), *extra])
            columns = _column_names(cursor)
            rows = cursor.fetchall()
        read = self._readers.get(columns) or self._reader(db, columns)
        return [read(row, db) for row in rows]

    def _reader(self, db: BaseDatabaseWrapper, columns: tuple[str, ...]) -> _Reader[M]:
        """What `Model.objects.raw` works out for every query, worked out once:
        which column is which field, and the field's converters (JSON, and
        SQLite's dates); the other columns become attributes."""
        model = self.model
        by_column = {f.column: f for f in model._meta.concrete_fields}
        fields = [(pos, by_column[name]) for pos, name in enumerate(columns) if name in by_column]
        names = [f.attname for _, f in fields]
        if model._meta.pk.attname not in names:
            raise ValueError("a prepared query must select the primary key")
        positions = [pos for pos, _ in fields]
        extra = [(name, pos) for pos, name in enumerate(columns) if name not in by_column]
        convert = []
        for n, (_, field) in enumerate(fields):
            col = field.get_col(model._meta.db_table)
            steps = db.ops.get_db_converters(col) + col.get_db_converters(db)
            if steps:
                convert.append((n, col, steps))
        alias = db.alias

        def read(row: tuple[Any, ...], connection: BaseDatabaseWrapper) -> M:
            init = [row[pos] for pos in positions]
            for n, col, steps in convert:
                for step in steps:
                    init[n] = step(init[n], col, connection)
            instance = model.from_db(alias, names, init)
            for name, pos in extra:
                setattr(instance, name, row[pos])
            self.attach_related(instance)
            return instance

        self._readers[columns] = read
        return read

    def attach_related(self, row: M) -> None:
        """Turn the related objects' columns on `row` into the objects, as select_related does."""
        for path, columns in self.aliases.items():
            *parents, name = path.split("__")
            owner: Any = row
            for parent in parents:
                owner = getattr(owner, parent)
            values = [row.__dict__.pop(alias) for _, alias in columns]
            if values[0] is None:
                setattr(owner, name, None)
                continue
            model = type(owner)._meta.get_field(name).related_model
            setattr(owner, name, model.from_db(row._state.db, [a for a, _ in columns], values))


def _column_names(cursor: CursorWrapper) -> tuple[str, ...]:
    """The names of the columns the cursor's last statement returned.

    On PostgreSQL they are read from psycopg's result itself: `description`
    builds a Column object for every column, about 1 µs each, and the casting
    statement returns seventeen, the user's query sixteen.
    """
    result = getattr(cursor, "pgresult", None)
    if result is None:
        return tuple(column[0] for column in cursor.description)
    return tuple(result.fname(i).decode() for i in range(result.nfields))


def _default_database() -> BaseDatabaseWrapper:
    """This thread's default connection, as `django.db.connection` gives it.

    Looked up once a run and passed on: the `connection` proxy looks it up
    again for every attribute read, 2.4 µs each, and a run reads ten.
    """
    return connections[DEFAULT_DB_ALIAS]


@async_unsafe
def _cursor(db: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a prepared query: on PostgreSQL one whose statements the
    server prepares, elsewhere Django's own.

    It is made and wrapped as `connection.cursor()` makes and wraps Django's
    own, so that what watches queries (`connection.execute_wrapper`, the debug
    log, the tests' query counts) sees these as it sees every other.
    """
    if db.vendor != "postgresql":
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        cursor = _PreparingCursor(db.connection)
    if db.queries_logged:
        return _LoggedPreparedCursor(cursor, db)
    return db.make_cursor(cursor)


class _PreparingCursor(psycopg.Cursor):  # type: ignore[type-arg]
    """Binds values on the server and has each statement prepared at once.

    Django's own cursors bind on the client and never prepare, so only these
    do. A statement is prepared once per connection and kept there (psycopg
    keeps up to `prepared_max`, 100, a connection). With the connection's
    `prepare_threshold` at None (`DB_PREPARED_STATEMENTS=0`, config/settings.py)
    psycopg prepares nothing, and these only bind on the server.
    """

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().execute(query, params, prepare=True)


class _LoggedPreparedCursor(CursorDebugWrapper):
    """Logs each statement as Django logs its own, with its values in: psycopg
    keeps no text of a prepared statement's run for Django to read back."""

    def execute(self, sql: str, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def _model_at(model: type[Model], path: str) -> type[Model]:
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model  # type: ignore[assignment]
    return model

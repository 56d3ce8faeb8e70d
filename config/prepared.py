"""ORM queries compiled to SQL once per process, then run again with new ids.

Django builds and compiles a queryset afresh every time it runs; for a query
with a few subqueries that costs 1-2 ms of Python, several times what the
database takes to answer it. On the paths every request or every ballot takes
(loading the request's user with their roles, locking a poll to cast) that
was the larger part of the work, so those queries are written with the ORM as
usual, compiled once here, and run as raw SQL with only their ids changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet

M = TypeVar("M", bound=Model)

# Stand-ins for the ids while compiling: values no real primary key takes.
_SENTINEL_BASE = -(2**40)


class PreparedQuery(Generic[M]):
    """`build(**ids)` compiled once per database vendor; `run(**ids)` runs it again.

    Every keyword of `build` is an integer id (a primary key); each must reach
    the SQL as a parameter, which compiling checks. With `for_share`, the rows
    of the queryset's own table are read under a shared row lock on PostgreSQL
    (Django's select_for_update has no FOR SHARE).
    """

    def __init__(
        self, build: Callable[..., QuerySet[M]], *slots: str, for_share: bool = False
    ) -> None:
        self._build = build
        self._slots = slots
        self._for_share = for_share
        self._compiled: dict[str, tuple[type[M], str, tuple[Any, ...], dict[int, str]]] = {}

    def run(self, **ids: int) -> RawQuerySet[M]:
        model, sql, params, where = self._compiled.get(connection.vendor) or self._compile()
        bound = [ids[where[i]] if i in where else value for i, value in enumerate(params)]
        return model._default_manager.raw(sql, bound)

    def _compile(self) -> tuple[type[M], str, tuple[Any, ...], dict[int, str]]:
        sentinels = {_SENTINEL_BASE - n: slot for n, slot in enumerate(self._slots)}
        queryset = self._build(**{slot: value for value, slot in sentinels.items()})
        sql, params = queryset.query.sql_with_params()
        where = {
            i: sentinels[value]
            for i, value in enumerate(params)
            if type(value) is int and value in sentinels
        }
        missing = set(self._slots) - set(where.values())
        if missing:
            raise ValueError(f"these ids never reach the SQL: {sorted(missing)}")
        if self._for_share and connection.vendor == "postgresql":
            sql = f"{sql} FOR SHARE OF {connection.ops.quote_name(queryset.model._meta.db_table)}"
        compiled = (queryset.model, sql, tuple(params), where)
        self._compiled[connection.vendor] = compiled
        return compiled

"""Changelist paging that never runs ``COUNT(*)`` over a table of millions of runs."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to ``exact_limit`` rows, then estimates instead of ``COUNT(*)``.

    The exact part is a ``LIMIT``-ed subquery, so its cost is bounded. Past the limit, on
    Postgres, an unfiltered table uses ``pg_class.reltuples`` and a filtered query the
    planner's row estimate; page links past the real end then show an empty last page,
    which is the accepted price of a fast changelist.
    """

    exact_limit = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return super().count
        exact = rows.order_by()[: self.exact_limit + 1].count()
        if exact <= self.exact_limit:
            return exact
        return max(exact, estimated_count(rows))


def estimated_count(rows: QuerySet) -> int:
    """The planner's idea of how many rows ``rows`` holds (exact on SQLite)."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return rows.count()
    with connection.cursor() as cursor:
        if not rows.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [rows.model._meta.db_table],
            )
        else:
            sql, params = rows.order_by().query.sql_with_params()
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        row = cursor.fetchone()
    if row is None:
        return 0
    if isinstance(row[0], int):
        return row[0]
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return int(plan[0]["Plan"]["Plan Rows"])

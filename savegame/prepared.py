"""Server-side prepared statements for the few statements that run on every request of a hot path.

Django's PostgreSQL cursors bind parameters on the client, so PostgreSQL parses and plans every
statement again. For the callback inbox insert (a CTE that checks the path token and inserts) that
planning cost PostgreSQL more than the insert itself (docs/BENCHMARKS.md). `fetchone_prepared` runs a
statement on a server-binding psycopg cursor over the same connection instead. psycopg prepares the
statement once that connection has run it `prepare_threshold` times (DATABASES OPTIONS, settings) and
reuses the plan from then on. A connection that serves a single request (CONN_MAX_AGE=0, no pool) never
reaches the threshold and pays nothing extra. Django's own cursors bind on the client and are never
prepared, whatever the threshold says.

The statement still goes through Django's cursor wrapper (error translation, execute wrappers, the
query log) and django-tenants' search_path. PostgreSQL plans a prepared statement again when
search_path changes, so one prepared statement serves every organization on the connection. Write
placeholders as `%s` with an explicit cast where the column is not text (`%s::inet`): server-side
parameters arrive untyped.
"""

from __future__ import annotations

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


def fetchone_prepared(sql: str, params: list) -> tuple | None:
    with connection.cursor() as django_cursor:  # opens the connection and sets the tenant's search_path
        raw = ServerBindingCursor(django_cursor.cursor.connection)
        make = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
        with make(raw) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

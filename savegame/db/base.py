"""django-tenants' PostgreSQL backend without a `SET search_path` round trip per request.

django-tenants forgets the connection's search_path whenever a tenant is set (every request: the
middleware sets public, then the organization), so a persistent connection (CONN_MAX_AGE) issued
the same `SET search_path` at the start of every request: one of a cached API read's two
statements (issue 13, docs/BENCHMARKS.md). This wrapper remembers what the server session really
has, and skips the statement when it would set the same path again.

What the server really has is forgotten whenever it may have changed behind us: a new or closed
connection, a rollback, or a rollback to a savepoint (both undo a SET issued inside them, which is
why django-tenants forgets there too).
"""

from __future__ import annotations

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_limit_set_calls


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.search_path_on_server = None

    def _handle_search_path(self, cursor=None):
        if (not self._setting_search_path and self.search_path_set_schemas is None
                and self.search_path_on_server is not None and get_limit_set_calls() and self.schema_name
                and self.search_path_on_server == self._get_cursor_search_paths()):
            self.search_path_set_schemas = self.search_path_on_server
            return
        super()._handle_search_path(cursor)
        if not self._setting_search_path:
            self.search_path_on_server = self.search_path_set_schemas

    def get_new_connection(self, conn_params):
        self.search_path_on_server = None
        return super().get_new_connection(conn_params)

    # Forgotten after the call too: getting the cursor for the ROLLBACK goes through _cursor(), which
    # would remember the path the rollback then undoes (tests/tenants/test_search_path.py).
    def close(self):
        try:
            super().close()
        finally:
            self.search_path_on_server = None

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.search_path_on_server = None

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self.search_path_on_server = None

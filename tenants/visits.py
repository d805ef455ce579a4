"""One rule for code that visits many tenant schemas on one connection.

Each PostgreSQL backend caches the catalog entries of every relation it has touched (about 11 KB a
table) and holds a lock on each until its transaction ends. A connection that walks 1,000 schemas
of ~40 tables grows by hundreds of MB, and one transaction over them all runs out of lock slots
(`max_locks_per_transaction` is 64 a connection here). So:

- a cross-tenant job never holds one transaction over more than one bound of schemas (each
  tenant's work commits on its own), and
- its connection is closed after `TENANT_SCHEMAS_PER_CONNECTION` schemas (default 50), so the next
  schema starts on a fresh, small backend.

`schemas_visit()` (a loop over schemas) and `schema_batches()` (a query over a batch of schemas)
apply the rule to loops; `schema_visit_count()` applies it to Celery workers, where one task visits
one schema (savegame/celery.py calls it after every task).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

_visited: set[str] = set()


def schemas_per_connection() -> int:
    return max(1, int(getattr(settings, "TENANT_SCHEMAS_PER_CONNECTION", 50)))


def _refuse_transaction(visited: int = 0) -> None:
    """Inside a transaction the connection cannot be replaced, so at most one bound of schemas may
    be visited there (a test's transaction, a command run for one organization); more is refused."""
    if connection.in_atomic_block and visited >= schemas_per_connection():
        raise RuntimeError("a job that visits many tenants must not run inside one transaction")


def _reconnect() -> None:
    _visited.clear()
    if not connection.in_atomic_block:
        connection.close()


def schema_visit_count(*, schema_name: str) -> bool:
    """Note that this process's connection touched `schema_name`; close it once it has touched
    the bound of distinct tenant schemas. Returns True when it closed the connection."""
    if schema_name == settings.PUBLIC_SCHEMA_NAME:
        return False
    _visited.add(schema_name)
    if len(_visited) >= schemas_per_connection() and not connection.in_atomic_block:
        _reconnect()
        return True
    return False


def schemas_visit(*, schemas: Iterable[str], per_connection: int | None = None) -> Iterator[str]:
    """Yield each schema name with the connection switched to it; a fresh connection every
    `per_connection` schemas. Inside a transaction, refuses to go past one bound."""
    bound = per_connection or schemas_per_connection()
    _reconnect()
    try:
        for index, schema in enumerate(schemas):
            if index and index % bound == 0:
                _refuse_transaction(index)
                _reconnect()
            with schema_context(schema):
                yield schema
    finally:
        _reconnect()


def schema_batches(*, schemas: Iterable[str], size: int | None = None) -> Iterator[list[str]]:
    """Batches of at most `size` schemas for one query each, on a fresh connection per batch."""
    bound = size or schemas_per_connection()
    names = list(schemas)
    try:
        for start in range(0, len(names), bound):
            _refuse_transaction(start)
            _reconnect()
            yield names[start:start + bound]
    finally:
        _reconnect()

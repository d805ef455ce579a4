"""New tenant schemas from a blueprint: the template's DDL, generated once per migration state.

django-tenants' `clone_schema()` rebuilds every object's definition from `information_schema` and
`pg_catalog` views that span all schemas, so each new organization cost ~0.03 s more per existing
one (issue 19: 0.6 s at 10 orgs, 6.6 s at 224). Here `pg_dump --schema=tenant_template` writes the
template's DDL (tables, sequences and their ownership, defaults, constraints, indexes, functions,
triggers, grants) and its rows (the migration records, content types, permissions) once per state
of the template's `django_migrations`; the text is kept in `tenants_schemablueprint` and replayed
for each new schema as one multi-statement query inside the caller's transaction. Replaying never
reads the catalog of other schemas, so its cost does not depend on how many there are.

Replaying still builds ~160 indexes, and PostgreSQL syncs each new index file to disk
(DataFileImmediateSync), so a replay costs 1.4-6.8 s on a busy 2-core machine (docs/BENCHMARKS.md). So a few
schemas are made ahead (`TENANT_SCHEMA_POOL_SIZE`, named pool_<state key>_<random>) and a new
organization takes one with ALTER SCHEMA ... RENAME (milliseconds); the pool is refilled by a Celery
task after commit and by migrate_all, which also drops pool schemas of an older migration state.

Falls back to django-tenants' clone when no pg_dump at least as new as the server is found.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

PLACEHOLDER = '"__sg_new_schema__"'
POOL_PREFIX = "pool_"  # ready-made schemas: pool_<state key>_<random>
_cache: dict[tuple[str, str], str] = {}  # (database name, state key) -> SQL, per process
_pg_dump_path: dict[str, str | None] = {}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def template_state_key(*, template: str | None = None) -> str | None:
    """The template's migration state: a hash of its applied migrations (None: not migrated)."""
    template = template or settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quote_ident(template)}.django_migrations"])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT string_agg(app || '.' || name, ',' ORDER BY app, name) "
                       f"FROM {quote_ident(template)}.django_migrations")
        applied = cursor.fetchone()[0] or ""
    return hashlib.sha256(f"{template}:{applied}".encode()).hexdigest()[:32]


def _server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _tool_major(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def pg_dump_path() -> str | None:
    """A pg_dump at least as new as the server: TENANT_PG_DUMP, the server's own major version's,
    the embedded server's (pgserver), then PATH."""
    major = _server_major()
    if str(major) in _pg_dump_path:
        return _pg_dump_path[str(major)]
    candidates = [getattr(settings, "TENANT_PG_DUMP", "") or "", f"/usr/lib/postgresql/{major}/bin/pg_dump"]
    try:
        import pgserver

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"))
    except ImportError:
        pass
    candidates.append(shutil.which("pg_dump") or "")
    found = None
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            try:
                if _tool_major(candidate) >= major:
                    found = candidate
                    break
            except (OSError, subprocess.SubprocessError):
                continue
    _pg_dump_path[str(major)] = found
    return found


def _template_dump(*, template: str, pg_dump: str) -> str:
    args, env = connection.client.settings_to_cmd_args_env(connection.settings_dict, [])
    # psql's arguments (-U, -h, -p, dbname) are pg_dump's too
    command = [pg_dump, *args[1:-1], "--schema", template, "--inserts", "--rows-per-insert", "1000",
               "--no-owner", "--no-tablespaces", "--no-security-labels", "--no-comments", args[-1]]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump of {template} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def blueprint_from_dump(*, dump: str, template: str) -> str:
    """The dump's statements with the template's name replaced by PLACEHOLDER.

    Drops comments, psql meta-commands (\\restrict), the session SETs of the preamble (they would
    outlive the transaction, and `search_path` is django-tenants' to set) and the schema's own
    statements (the caller creates the schema). Everything pg_dump writes is schema-qualified,
    since it dumps with an empty search_path.
    """
    schema_statement = re.compile(rf"^(CREATE|ALTER|COMMENT ON) SCHEMA {re.escape(template)}\b")
    kept = [
        line for line in dump.splitlines()
        if not line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config("))
        and not schema_statement.match(line)
    ]
    sql = "\n".join(kept).strip() + "\n"  # blank lines stay: they may be inside a function body
    qualified = re.compile(rf'(?<![\w"]){re.escape(template)}\.|"{re.escape(template)}"\.')
    sql = qualified.sub(PLACEHOLDER + ".", sql)
    if re.search(rf"\b{re.escape(template)}\b", sql) or "search_path" in sql:
        raise RuntimeError(f"the dump of {template} names it outside a qualified identifier")
    return sql


def blueprint_get(*, template: str | None = None, state_key: str | None = None) -> tuple[str, str] | None:
    """(state key, SQL) for the template's current migration state, built and stored if new.

    None when the template is not migrated or no usable pg_dump exists."""
    from tenants.models import SchemaBlueprint

    template = template or settings.TENANT_BASE_SCHEMA
    state_key = state_key or template_state_key(template=template)
    if state_key is None:
        return None
    cache_key = (connection.settings_dict["NAME"], state_key)
    if cache_key in _cache:
        return state_key, _cache[cache_key]
    row = SchemaBlueprint.objects.filter(state_key=state_key).values_list("sql", flat=True).first()
    if row is None:
        pg_dump = pg_dump_path()
        if pg_dump is None:
            logger.warning("no pg_dump at least as new as the server: provisioning clones the template")
            return None
        try:
            row = blueprint_from_dump(dump=_template_dump(template=template, pg_dump=pg_dump), template=template)
        except (RuntimeError, OSError, subprocess.SubprocessError):
            logger.exception("no blueprint of the template: provisioning clones it")
            return None
        if template_state_key(template=template) != state_key:  # migrated while we dumped: ask again
            return blueprint_get(template=template)
        SchemaBlueprint.objects.bulk_create(
            [SchemaBlueprint(state_key=state_key, template_schema=template, sql=row)], ignore_conflicts=True)
        logger.info("schema blueprint built", extra={"state_key": state_key, "bytes": len(row)})
    _cache[cache_key] = row
    return state_key, row


def blueprint_refresh() -> str | None:
    """Build the blueprint of the template's current state now (migrate_all calls it), so the first
    organization after a deploy does not wait for pg_dump, and forget older states'. Returns the
    state key."""
    from tenants.models import SchemaBlueprint

    found = blueprint_get()
    if found is None:
        return None
    SchemaBlueprint.objects.exclude(state_key=found[0]).delete()  # older states are never asked for again
    return found[0]


def _pool_prefix(state_key: str) -> str:
    return f"{POOL_PREFIX}{state_key[:16]}_"


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def schema_pool_take(*, schema_name: str, state_key: str) -> bool:
    """Rename a ready-made schema of the current state to `schema_name`, inside the caller's
    transaction (a rollback gives it back to the pool). False when the pool is empty."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname LIMIT 8",
                       [_like(_pool_prefix(state_key))])
        for (name,) in cursor.fetchall():
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [name])
            if not cursor.fetchone()[0]:
                continue  # another provisioning is taking it
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])  # taken and committed since?
            if cursor.fetchone() is None:
                continue
            cursor.execute(f"ALTER SCHEMA {quote_ident(name)} RENAME TO {quote_ident(schema_name)}")
            return True
    return False


def schema_pool_fill(*, size: int | None = None) -> int:
    """Top the pool of ready-made schemas up to `size` (TENANT_SCHEMA_POOL_SIZE) for the template's
    current state, and drop pool schemas of any other state. Each schema is made in a transaction of
    its own; one filler at a time. Returns how many were made."""
    from django.db import transaction

    size = settings.TENANT_SCHEMA_POOL_SIZE if size is None else size
    if connection.in_atomic_block:
        raise RuntimeError("the schema pool is filled outside any transaction")
    found = blueprint_get()
    if found is None:
        return 0
    state_key, sql = found
    prefix = _pool_prefix(state_key)
    made = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('tenants.schema_pool_fill'))")
        if not cursor.fetchone()[0]:
            return 0
        try:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [_like(POOL_PREFIX)])
            pooled = [row[0] for row in cursor.fetchall()]
            for name in pooled:
                if not name.startswith(prefix):
                    with transaction.atomic():
                        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [name])
                        if cursor.fetchone()[0]:
                            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
            for _ in range(size - sum(1 for name in pooled if name.startswith(prefix))):
                name = prefix + secrets.token_hex(4)
                with transaction.atomic():
                    cursor.execute(f"CREATE SCHEMA {quote_ident(name)}")
                    cursor.execute(sql.replace(PLACEHOLDER, quote_ident(name)))
                made += 1
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('tenants.schema_pool_fill'))")
    return made


def _pool_refill_after_commit() -> None:
    if settings.TENANT_SCHEMA_POOL_SIZE <= 0:
        return
    from django.db import transaction

    def send() -> None:
        from tenants.tasks import schema_pool_fill_task

        try:
            schema_pool_fill_task.delay()
        except Exception:  # broker down: the next provisioning (or migrate_all) refills
            logger.warning("could not ask for the schema pool to be refilled")

    transaction.on_commit(send)


def schema_provision(*, schema_name: str) -> bool:
    """Create `schema_name` inside the caller's transaction: a ready-made schema from the pool
    renamed (milliseconds), else the blueprint replayed (one CREATE per object, ~160 index builds
    each synced to disk). Either way the pool is refilled after commit, off the request.

    Returns False (nothing done) when no blueprint can be had; the caller then clones."""
    found = blueprint_get()
    if found is None:
        return False
    state_key, sql = found
    if not schema_pool_take(schema_name=schema_name, state_key=state_key):
        quoted = quote_ident(schema_name)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {quoted}")
            cursor.execute(sql.replace(PLACEHOLDER, quoted))
    _pool_refill_after_commit()
    return True

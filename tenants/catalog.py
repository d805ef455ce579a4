"""A schema's catalog as plain data, so two tenant schemas can be compared (tests, bench).

Names of the schema itself are replaced by `<schema>`, so a provisioned schema and a migrated one
compare equal when, and only when, they hold the same objects defined the same way.
"""

from __future__ import annotations

import re

from django.db import connection, transaction

QUERIES = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), coalesce(col.collname, '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation col ON col.oid = a.attcollation AND a.attcollation <> 100
        WHERE c.relnamespace = %(oid)s AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0
          AND NOT a.attisdropped""",
    "constraints": """
        SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid), con.condeferrable,
               con.condeferred, con.convalidated
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE con.connamespace = %(oid)s""",
    "indexes": """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE i.relnamespace = %(oid)s""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(oid)s AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = %(oid)s""",
    "sequences": """
        SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmax, q.seqmin,
               q.seqcache, q.seqcycle, coalesce(t.relname || '.' || a.attname, ''), coalesce(d.deptype, '')
        FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid
        LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class t ON t.oid = d.refobjid
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE s.relnamespace = %(oid)s""",
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, coalesce(array_to_string(c.reloptions, ','), ''),
               c.relrowsecurity, coalesce(array_to_string(c.relacl, ','), '')
        FROM pg_class c WHERE c.relnamespace = %(oid)s""",
    "migrations": "SELECT app, name FROM {schema}.django_migrations",
}


def _check_canonical(cursor, *, schema: str, table: str, definition: str) -> str:
    """A CHECK constraint as PostgreSQL prints it after reading its printed form back.

    Printing and re-reading an expression can change its tree without changing its meaning:
    Django's `role IN ('a', 'b')` is stored as `ANY ((ARRAY['a'::varchar, 'b'::varchar])::text[])`,
    and read back from that text it becomes `ANY (ARRAY[('a'::varchar)::text, ...])`. Every schema
    made from printed DDL (pg_dump, django-tenants' clone) holds the second form, so both sides are
    compared after one such round trip (on a scratch copy of the table, rolled back)."""
    cursor.execute("SAVEPOINT catalog_canon")
    try:
        cursor.execute(f'CREATE TEMP TABLE catalog_canon (LIKE {schema}."{table}")')
        cursor.execute(f"ALTER TABLE catalog_canon ADD CONSTRAINT catalog_canon {definition}")
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'catalog_canon' "
                       "AND conrelid = 'catalog_canon'::regclass")
        return cursor.fetchone()[0]
    finally:
        cursor.execute("ROLLBACK TO SAVEPOINT catalog_canon")


def schema_catalog(*, schema: str) -> dict[str, list[tuple]]:
    """Every column, constraint, index, trigger, function, sequence (with its owner column),
    relation and migration row of `schema`, sorted, with the schema's own name masked.

    Columns are numbered among the live ones (a dropped column leaves a gap in attnum that a
    schema built from DDL does not have); CHECK expressions are compared in canonical form
    (_check_canonical). Runs in a transaction of its own when called outside one."""
    quoted = '"' + schema.replace('"', '""') + '"'
    mask = re.compile(rf'(?<![\w"]){re.escape(schema)}\.|{re.escape(quoted)}\.')
    catalog: dict[str, list[tuple]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no schema {schema}")
        for part, query in QUERIES.items():
            cursor.execute(query.format(schema=quoted), {"oid": row[0]})
            rows = cursor.fetchall()
            if part == "constraints":
                rows = [(t, n, kind, _check_canonical(cursor, schema=quoted, table=t, definition=d) if kind == "c"
                         else d, *rest) for t, n, kind, d, *rest in rows]
            catalog[part] = sorted(
                tuple(mask.sub("<schema>.", v) if isinstance(v, str) else v for v in values) for values in rows
            )
    return catalog


def catalog_differences(*, left: str, right: str) -> list[str]:
    """Human-readable differences between two schemas' catalogs (empty when identical)."""
    a, b = schema_catalog(schema=left), schema_catalog(schema=right)
    out = []
    for part in QUERIES:
        only_a, only_b = set(a[part]) - set(b[part]), set(b[part]) - set(a[part])
        out += [f"{part}: only in {left}: {item}" for item in sorted(only_a, key=repr)]
        out += [f"{part}: only in {right}: {item}" for item in sorted(only_b, key=repr)]
    return out

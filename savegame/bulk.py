"""Set-based writes for hot paths: many rows in one statement from one JSON parameter.

Django's bulk_create / bulk_update build a model instance (and, for updates, a CASE per row and field)
for every row; on the scoring path that cost more Python time than the scoring itself. These helpers
send the rows as one JSON document, serialised by the C encoder, and let PostgreSQL unpack it with
`jsonb_to_recordset`. Use them only where a profile says so; elsewhere the ORM is clearer.
"""

from __future__ import annotations

import json

from django.db import connection
from django.utils import timezone


def records(fields: list[tuple[str, str]], rows: list[tuple]) -> tuple[str, str]:
    """(the `AS v(...)` column list with SQL types, the JSON document) for `jsonb_to_recordset`.
    Decimals, dates and datetimes travel as strings PostgreSQL parses back into their types."""
    names = [name for name, _ in fields]
    document = json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str)
    return ", ".join(f'"{name}" {sql_type}' for name, sql_type in fields), document


def insert_rows(model, fields: list[str], rows: list[tuple], *, stamp: str | None = "created_at",
                conflict: str | None = None, returning: list[str] | None = None) -> list[tuple]:
    """INSERT `rows` (tuples in `fields` order) into `model`'s table in one statement; `stamp`
    names a timestamp column set to Django's `timezone.now()` (what the models' auto_now_add /
    default=now would write; not PostgreSQL's now(), which is the transaction's start).
    `conflict` names a unique column whose duplicates are skipped (ON CONFLICT DO NOTHING);
    `returning` lists columns to return for the rows actually inserted."""
    if not rows:
        return []
    columns = [model._meta.get_field(name) for name in fields]
    spec, document = records([(field.column, field.db_type(connection)) for field in columns], rows)
    names = ", ".join(f'"{field.column}"' for field in columns)
    target, source = (f'{names}, "{stamp}"', f"{names}, %s") if stamp else (names, names)
    params = [timezone.now(), document] if stamp else [document]
    sql = (f'INSERT INTO "{model._meta.db_table}" ({target}) '
           f"SELECT {source} FROM jsonb_to_recordset(%s::jsonb) AS v({spec})")
    if conflict:
        sql += f' ON CONFLICT ("{model._meta.get_field(conflict).column}") DO NOTHING'
    if returning:
        sql += " RETURNING " + ", ".join(f'"{model._meta.get_field(name).column}"' for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def insert_instances(instances: list, *, conflict: str | None = None, returning: list[str] | None = None) -> list[tuple]:
    """`insert_rows` for unsaved model instances: every concrete field but the primary key, with
    `created_at` stamped now."""
    if not instances:
        return []
    model = type(instances[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.name != "created_at"]
    rows = [tuple(getattr(instance, f.attname) for f in fields) for instance in instances]
    return insert_rows(model, [f.name for f in fields], rows, conflict=conflict, returning=returning)


def update_rows(model, fields: list[tuple[str, str]], rows: list[tuple]) -> None:
    """UPDATE `model` rows by id: `fields` are (column, SQL type) pairs, the first being ("id", ...);
    `rows` hold the new values in that order."""
    if not rows:
        return
    spec, document = records(fields, rows)
    assignments = ", ".join(f'"{name}" = v."{name}"' for name, _ in fields[1:])
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{model._meta.db_table}" AS t SET {assignments} '
                       f"FROM jsonb_to_recordset(%s::jsonb) AS v({spec}) WHERE t.id = v.id", [document])

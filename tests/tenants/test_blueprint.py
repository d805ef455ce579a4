"""Provisioning replays the template's blueprint: the schema equals a migrated one, and the cost
does not depend on the other schemas (no clone_schema, no catalog-wide walk)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_exists

from tenants.catalog import catalog_differences, schema_catalog
from tenants.models import SchemaBlueprint
from tenants.provisioning import PLACEHOLDER, blueprint_from_dump, blueprint_get, template_state_key
from tenants.services import organization_create

MIGRATED = "test_fully_migrated"


@pytest.fixture(scope="module")
def migrated_schema(django_db_setup, django_db_blocker):
    """A schema built the slow way: every migration run in it."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{MIGRATED}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{MIGRATED}"')
        call_command("migrate_schemas", tenant=True, schema_name=MIGRATED, interactive=False, verbosity=0)
        connection.set_schema_to_public()
        yield MIGRATED
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{MIGRATED}" CASCADE')


def test_a_provisioned_schema_has_the_catalog_of_a_migrated_one(db, migrated_schema):
    org = organization_create(slug="catalogue", name="Catalogue", admin_phone="+254712000111")
    differences = catalog_differences(left=org.schema_name, right=migrated_schema)
    assert differences == [], "\n".join(differences)
    catalog = schema_catalog(schema=org.schema_name)
    # the comparison covers every kind of object, so an empty difference means something
    assert all(catalog[part] for part in ("columns", "constraints", "indexes", "triggers", "functions",
                                          "sequences", "migrations"))
    owned = [row for row in catalog["sequences"] if row[-2]]
    assert len(owned) == len(catalog["sequences"])  # every sequence belongs to its id column


def test_the_catalog_comparison_sees_a_missing_index_a_default_and_a_trigger(db, migrated_schema):
    org = organization_create(slug="drifted", name="Drifted", admin_phone="+254712000112")
    schema = org.schema_name
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the admin user's deferred FK checks, before ALTERs
        cursor.execute(f"SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexdef NOT LIKE '%%UNIQUE%%' "
                       f"LIMIT 1", [schema])
        index = cursor.fetchone()[0]
        cursor.execute(f'DROP INDEX "{schema}"."{index}"')
        cursor.execute(f'ALTER TABLE "{schema}".accounts_user ALTER COLUMN name SET DEFAULT \'x\'')
        cursor.execute(f"SELECT tgname, relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       f"WHERE c.relnamespace = %s::regnamespace AND NOT tgisinternal LIMIT 1", [schema])
        trigger, table = cursor.fetchone()
        cursor.execute(f'DROP TRIGGER "{trigger}" ON "{schema}"."{table}"')
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE id = (SELECT max(id) FROM "{schema}".django_migrations)')
    differences = catalog_differences(left=schema, right=migrated_schema)
    parts = {line.split(":")[0] for line in differences}
    assert {"indexes", "columns", "triggers", "migrations"} <= parts


def test_provisioning_reads_no_other_schema_and_runs_no_migration(db):
    blueprint_get()  # built once per migration state, not per organization
    with CaptureQueriesContext(connection) as queries:
        org = organization_create(slug="constant", name="Constant", admin_phone="+254712000113")
    sql = " ".join(q["sql"] for q in queries.captured_queries).lower()
    assert "clone_schema" not in sql
    assert "information_schema" not in sql
    assert "django_migrations" in sql  # the template's state key, one query
    assert len(queries.captured_queries) < 60
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{org.schema_name}".django_migrations')
        recorded = cursor.fetchone()[0]
        cursor.execute(f'SELECT count(*) FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations')
        assert recorded == cursor.fetchone()[0] > 0


def test_a_new_migration_state_gets_a_new_blueprint(db):
    before = template_state_key()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO \"{settings.TENANT_BASE_SCHEMA}\".django_migrations (app, name, applied) "
                       f"VALUES ('zz', '0001_state', now())")
    assert template_state_key() != before


def test_the_blueprint_names_the_new_schema_only():
    dump = (
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE SCHEMA tenant_template;\n"
        "\\restrict abc\n-- Name: t\nCREATE TABLE tenant_template.t (id bigint);\n"
        "ALTER TABLE ONLY tenant_template.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n"
    )
    sql = blueprint_from_dump(dump=dump, template="tenant_template")
    assert sql == (f"CREATE TABLE {PLACEHOLDER}.t (id bigint);\n"
                   f"ALTER TABLE ONLY {PLACEHOLDER}.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n")
    with pytest.raises(RuntimeError):
        blueprint_from_dump(dump="CREATE TABLE tenant_template.t (note text DEFAULT 'tenant_template');\n",
                            template="tenant_template")


def test_without_pg_dump_provisioning_falls_back_to_the_clone(db, monkeypatch):
    import tenants.provisioning as provisioning

    monkeypatch.setattr(provisioning, "_cache", {})
    monkeypatch.setattr(provisioning, "pg_dump_path", lambda: None)
    monkeypatch.setattr(SchemaBlueprint, "objects", _EmptyBlueprints())
    org = organization_create(slug="cloned", name="Cloned", admin_phone="+254712000114")
    assert schema_exists(org.schema_name)


class _EmptyBlueprints:
    """A SchemaBlueprint manager with nothing stored, so the fallback path is the one taken."""

    def filter(self, **kwargs):
        return self

    def values_list(self, *args, **kwargs):
        return self

    def first(self):
        return None

    def bulk_create(self, *args, **kwargs):
        raise AssertionError("no blueprint may be stored without pg_dump")


def _pool() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pool\\_%' ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def pooled_schema(django_db_setup, django_db_blocker):
    """One ready-made schema in the pool (committed), and a pool emptied again afterwards."""
    from tenants.provisioning import schema_pool_fill

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA pool_0000000000000000_stale")  # an older migration state's
        assert schema_pool_fill(size=1) == 1
        assert len(_pool()) == 1 and "pool_0000000000000000_stale" not in _pool()
        yield _pool()[0]
        connection.set_schema_to_public()
        schema_pool_fill(size=0)
        with connection.cursor() as cursor:
            for name in _pool():
                cursor.execute(f'DROP SCHEMA "{name}" CASCADE')


def test_a_pooled_schema_is_renamed_to_the_new_organization_and_equals_a_migrated_one(
        pooled_schema, migrated_schema, django_db_blocker, settings):
    settings.TENANT_SCHEMA_POOL_SIZE = 0  # no refill task: the pool stays as the test left it
    with django_db_blocker.unblock():
        with CaptureQueriesContext(connection) as queries:
            org = organization_create(slug="pooled", name="Pooled", admin_phone="+254712000115")
        try:
            assert _pool() == []
            assert any("RENAME TO" in q["sql"] for q in queries.captured_queries)
            assert not any("CREATE TABLE" in q["sql"] for q in queries.captured_queries)
            assert catalog_differences(left=org.schema_name, right=migrated_schema) == []
        finally:
            connection.set_schema_to_public()
            org.delete(force_drop=True)


def test_a_failed_provisioning_gives_the_pooled_schema_back(pooled_schema, db, monkeypatch):
    import tenants.services

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tenants.services, "_PROVISIONING_STEPS", [explode])  # payments' settings row fails
    with pytest.raises(RuntimeError):
        organization_create(slug="halfpooled", name="Half", admin_phone="+254712000116")
    connection.set_schema_to_public()
    assert _pool() == [pooled_schema]
    assert not schema_exists("org_halfpooled")

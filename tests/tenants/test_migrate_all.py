"""migrate_all reads every schema's django_migrations in bulk and migrates only those short of a
migration; cross-tenant loops reconnect after a bounded number of schemas (tenants.visits)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import override_settings
from django_tenants.signals import schema_migrated

from tenants.migration_state import migration_nodes, schemas_needing_migration
from tenants.visits import schema_batches, schema_visit_count, schemas_visit


@pytest.fixture
def migrated_schemas():
    seen: list[str] = []

    def note(sender, schema_name, **kwargs):
        seen.append(schema_name)

    schema_migrated.connect(note, weak=False, dispatch_uid="test_migrate_all")
    yield seen
    schema_migrated.disconnect(dispatch_uid="test_migrate_all")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_migrate_all_runs_migrate_only_where_a_migration_is_missing(committed_org, django_db_blocker,
                                                                     migrated_schemas):
    with django_db_blocker.unblock():
        schema = committed_org.schema_name
        every = ["org_alpha", "org_beta", schema]
        assert schemas_needing_migration(schemas=every) == []
        # take the schema back one (leaf) migration, so migrate has real work to do there
        call_command("migrate_schemas", "accounts", "0001", tenant=True, schema_name=schema, interactive=False,
                     verbosity=0)
        connection.set_schema_to_public()
        migrated_schemas.clear()
        assert schemas_needing_migration(schemas=every) == [schema]
        call_command("migrate_all", "--executor", "standard", verbosity=0)
        assert migrated_schemas == [schema]
        assert schemas_needing_migration(schemas=every) == []
        connection.set_schema_to_public()


def test_migrate_all_with_nothing_to_apply_migrates_no_schema(db_access_committed, migrated_schemas):
    call_command("migrate_all", "--executor", "standard", verbosity=0)
    assert migrated_schemas == []


def test_a_schema_without_a_migration_table_needs_migrating(db_access_committed):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "test_empty_schema"')
    try:
        assert schemas_needing_migration(schemas=["org_alpha", "test_empty_schema"]) == ["test_empty_schema"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute('DROP SCHEMA "test_empty_schema"')


def test_the_nodes_are_every_migration_on_disk():
    nodes = migration_nodes()
    assert ("payments", "0001_initial") in nodes and ("contenttypes", "0002_remove_content_type_name") in nodes


@pytest.fixture
def db_access_committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()


def test_a_loop_over_schemas_reconnects_every_bound(db_access_committed):
    pids = []
    for schema in schemas_visit(schemas=["org_alpha", "org_beta"] * 3, per_connection=2):
        assert connection.schema_name == schema
        pids.append(_backend_pid())
    assert len(set(pids)) == 3 and pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5]


def test_batches_of_schemas_each_get_a_fresh_connection(db_access_committed):
    pids = [_backend_pid() for _ in schema_batches(schemas=["a", "b", "c", "d", "e"], size=2)]
    assert len(set(pids)) == 3


@override_settings(TENANT_SCHEMAS_PER_CONNECTION=2)
def test_no_transaction_may_span_more_than_one_bound_of_tenants(db_access_committed):
    with transaction.atomic():
        visits = schemas_visit(schemas=["org_alpha", "org_beta", "org_alpha"])
        assert [next(visits), next(visits)] == ["org_alpha", "org_beta"]  # one bound: allowed
        with pytest.raises(RuntimeError, match="inside one transaction"):
            next(visits)


@override_settings(TENANT_SCHEMAS_PER_CONNECTION=2)
def test_a_worker_connection_is_closed_after_the_bound_of_distinct_schemas(db_access_committed):
    first = _backend_pid()
    assert not schema_visit_count(schema_name="org_alpha")
    assert not schema_visit_count(schema_name="org_alpha")
    assert not schema_visit_count(schema_name=settings.PUBLIC_SCHEMA_NAME)
    assert _backend_pid() == first
    assert schema_visit_count(schema_name="org_beta")
    assert _backend_pid() != first

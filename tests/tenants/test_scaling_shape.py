"""The shape that lets tenant schemas spread over several databases (docs/SCALING.md): 64-bit ids,
no foreign key from a tenant table into public, and tenant queries routed by Organization.database."""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.models import User
from tenants.models import Organization
from tenants.routing import OrganizationDatabaseRouter, organization_database_alias

# Django's own lookup tables keep 32-bit ids (their migrations say AutoField): a few hundred rows
# per schema that grow with the code, never with traffic.
# Django's own lookup tables, and django-axes' (admin login lockout; its counters live in Redis, these stay empty)
DJANGO_LOOKUPS = {"auth_group", "auth_permission", "django_content_type", "django_admin_log",
                  "axes_accessattempt", "axes_accessfailurelog", "axes_accesslog", "axes_accessattemptexpiration"}
LOOKUP_REFERENCES = {"group_id", "permission_id", "content_type_id"}


def _integer_ids(schema: str) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped AND (a.attname = 'id' OR a.attname LIKE '%%\\_id') "
            "AND a.atttypid IN ('int2'::regtype, 'int4'::regtype)", [schema])
        return cursor.fetchall()


@pytest.mark.parametrize("schema", [settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA])
def test_every_id_of_our_tables_is_64_bit(db, schema):
    narrow = [row for row in _integer_ids(schema)
              if row[0] not in DJANGO_LOOKUPS and row[1] not in LOOKUP_REFERENCES]
    assert narrow == []
    assert settings.DEFAULT_AUTO_FIELD == "django.db.models.BigAutoField"


def test_no_tenant_table_has_a_foreign_key_into_another_schema(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, con.conname, f.relnamespace::regnamespace::text, f.relname FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class f ON f.oid = con.confrelid "
            "WHERE con.contype = 'f' AND c.relnamespace = %s::regnamespace AND f.relnamespace <> c.relnamespace",
            [settings.TENANT_BASE_SCHEMA])
        assert cursor.fetchall() == []  # public rows are referenced by value (slug), never by a key


def test_every_organization_records_its_database(db, org):
    assert org.database == "default"
    assert organization_database_alias(organization=org) == "default"


def test_with_one_database_the_router_changes_nothing(tenant):
    router = OrganizationDatabaseRouter()
    assert router.db_for_read(User) is None and router.db_for_write(Organization) is None
    assert User.objects.count() >= 1


def test_an_organization_on_a_second_database_is_served_from_it(db, org, monkeypatch):
    """Tenant apps' queries go to the organization's alias, with its schema set on that connection;
    the public schema's models stay on default."""
    import tenants.routing as routing

    class Shard:
        schema_name = None

        def set_tenant(self, tenant):
            self.schema_name = tenant.schema_name

    shard = Shard()
    default = connection
    monkeypatch.setattr(routing, "connections", {"default": default, "shard_b": shard})
    monkeypatch.setitem(settings.DATABASES, "shard_b", dict(settings.DATABASES["default"]))
    org.database = "shard_b"
    default.set_tenant(org)
    router = OrganizationDatabaseRouter()
    assert router.db_for_read(User) == "shard_b" and shard.schema_name == org.schema_name
    assert router.db_for_write(Organization) is None
    default.set_schema_to_public()
    assert router.db_for_read(User) is None  # public context: the public schema's users


def test_an_unknown_database_is_refused(db, org):
    org.database = "nowhere"
    with pytest.raises(ImproperlyConfigured, match="nowhere"):
        organization_database_alias(organization=org)

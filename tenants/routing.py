"""Route tenant apps' queries to the database that holds the organization's schema.

`Organization.database` names a DATABASES alias (default: "default"). With one database this
router returns None for everything and changes nothing. With a second one, an organization moved
there (its schema copied whole: pg_dump --schema, or Citus 12's schema-based sharding, which keeps a
schema on one node) is served from it: queries on tenant apps, while a tenant is active, go to its alias,
with the same tenant (search_path) set on that connection. The public schema stays on "default".
See docs/SCALING.md.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

DEFAULT = "default"


def _tenant_apps() -> frozenset[str]:
    from django.apps import apps

    labels = set()
    for name in settings.TENANT_APPS:
        try:
            labels.add(apps.get_app_config(name.rsplit(".", 1)[-1]).label)
        except LookupError:
            continue
    return frozenset(labels)


def organization_database_alias(*, organization) -> str:
    """The DATABASES alias `organization` lives on; refuses one that is not configured."""
    alias = getattr(organization, "database", None) or DEFAULT
    if alias not in settings.DATABASES:
        raise ImproperlyConfigured(f"organization {organization.schema_name} lives on database '{alias}', "
                                   f"which is not in DATABASES")
    return alias


class OrganizationDatabaseRouter:
    _labels: frozenset[str] | None = None

    def _route(self, model) -> str | None:
        if self._labels is None:
            type(self)._labels = _tenant_apps()
        if model._meta.app_label not in self._labels:
            return None
        tenant = getattr(connections[DEFAULT], "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME \
                or getattr(tenant, "database", DEFAULT) in (DEFAULT, "", None):
            return None
        alias = organization_database_alias(organization=tenant)
        target = connections[alias]
        if getattr(target, "schema_name", None) != tenant.schema_name:
            target.set_tenant(tenant)  # lazy: search_path is set on that connection's next query
        return alias

    def db_for_read(self, model, **hints):
        return self._route(model)

    def db_for_write(self, model, **hints):
        return self._route(model)

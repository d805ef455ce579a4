"""Migrate every schema that has something to apply: public, the tenant template, then tenants.

One query per batch of schemas reads their django_migrations (tenants.migration_state); only the
schemas short of a migration run Django's migrate, in parallel (django-tenants' executor, each
schema on its own connection). The template's blueprint is rebuilt for its new state
(tenants.provisioning) and the pool of ready-made schemas refilled for that state.
"""

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.management.commands import migrate_schemas
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.migration_state import migration_nodes, schemas_needing_migration
from tenants.provisioning import blueprint_refresh, schema_pool_fill
from tenants.services import public_tenant_ensure, template_schema_ensure


class SchemasMigrateCommand(MigrateSchemasCommand):
    """migrate_schemas --tenant, over the given schemas only."""

    def __init__(self, *args, schemas: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.only_schemas = list(schemas)

    def handle(self, *args, **options):
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon: args, options
        executor = migrate_schemas.GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=list(self.only_schemas))


class Command(BaseCommand):
    help = "Migrate public, the tenant template and every organization that has migrations to apply."

    def add_arguments(self, parser):
        parser.add_argument("--executor", default="multiprocessing", choices=["standard", "multiprocessing"])
        parser.add_argument("--all", action="store_true", dest="every_schema",
                            help="Run migrate in every schema, even those with nothing to apply.")
        parser.add_argument("--limit", type=int, default=0, help="Only the first N organizations (benchmarks).")

    def handle(self, *args, **opts):
        from tenants.models import Organization

        verbosity = opts["verbosity"]
        started = time.perf_counter()
        nodes = migration_nodes()
        template_schema_ensure()
        if opts["every_schema"] or schemas_needing_migration(schemas=[settings.PUBLIC_SCHEMA_NAME], nodes=nodes):
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_tenant_ensure()
        template = settings.TENANT_BASE_SCHEMA
        if opts["every_schema"] or schemas_needing_migration(schemas=[template], nodes=nodes):
            call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False,
                         verbosity=verbosity)
        blueprint_refresh()
        schemas = list(Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
                       .order_by("pk").values_list("schema_name", flat=True))
        if opts["limit"]:
            schemas = schemas[:opts["limit"]]
        pending = schemas if opts["every_schema"] else schemas_needing_migration(schemas=schemas, nodes=nodes)
        if pending:
            call_command(SchemasMigrateCommand(schemas=pending), tenant=True, executor=opts["executor"],
                         interactive=False, verbosity=verbosity)
        schema_pool_fill()  # ready-made schemas of the new state; those of the old one are dropped
        if verbosity:
            self.stdout.write(f"{len(pending)} of {len(schemas)} organizations had migrations to apply "
                              f"({time.perf_counter() - started:.1f} s)")

"""Migrate every schema: public, the template new organizations are cloned from, then all tenants."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import public_tenant_ensure, template_schema_ensure


class Command(BaseCommand):
    help = "migrate_schemas for public, the tenant template and every organization (in parallel)."

    def add_arguments(self, parser):
        parser.add_argument("--executor", default="multiprocessing", choices=["standard", "multiprocessing"])

    def handle(self, *args, **opts):
        verbosity = opts["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_tenant_ensure()
        template_schema_ensure()
        call_command("migrate_schemas", tenant=True, schema_name=settings.TENANT_BASE_SCHEMA,
                     interactive=False, verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, executor=opts["executor"], interactive=False, verbosity=verbosity)

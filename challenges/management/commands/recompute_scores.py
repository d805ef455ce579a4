"""Recompute every participation's score from its deposits and report any drift (optionally fix it)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from tenants.models import Organization
from tenants.visits import schemas_visit


class Command(BaseCommand):
    help = "Recompute scores from deposits in every (or one) organization and report drift."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Organization slug (default: all).")
        parser.add_argument("--challenge", type=int, help="Only this challenge id.")
        parser.add_argument("--fix", action="store_true", help="Correct the stored totals and rebuild leaderboards.")

    def handle(self, *args, org=None, challenge=None, fix=False, **options):
        from challenges.services import scores_recompute

        orgs = Organization.objects.exclude(schema_name="public").order_by("slug")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                self.stderr.write(f"No organization with slug '{org}'.")
                raise SystemExit(1)
        total = 0
        by_schema = {o.schema_name: o for o in orgs}
        # a fresh connection every TENANT_SCHEMAS_PER_CONNECTION organizations (tenants/visits.py)
        for schema in schemas_visit(schemas=list(by_schema)):
            organization = by_schema[schema]
            from django.db import connection

            connection.set_tenant(organization)
            drifts = scores_recompute(fix=fix, challenge_id=challenge)
            total += len(drifts)
            for drift in drifts:
                self.stdout.write(json.dumps({"organization": organization.slug, **drift}, default=str))
            self.stdout.write(f"{organization.slug}: {len(drifts)} drift(s){' fixed' if fix and drifts else ''}")
        if total and not fix:
            raise SystemExit(2)

"""python manage.py analytics_backfill [--org SLUG ...] [--from YYYY-MM-DD] [--to YYYY-MM-DD]

Re-roll the analytics rollups for a range of days (idempotent), then refresh the platform summary.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tenants.visits import schemas_visit

from tenants.selectors import organization_list


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Re-roll analytics rollups for a date range (default: from the first activity to yesterday)."

    def add_arguments(self, parser):
        parser.add_argument("--org", action="append", default=[], help="Organization slug (repeatable; default all).")
        parser.add_argument("--from", dest="first", help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="last", help="Last day (YYYY-MM-DD); capped at yesterday.")

    def handle(self, *args, **opts):
        from analytics.services import organization_stats_publish, rollup_backfill

        first, last = _day(opts["first"]), _day(opts["last"])
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        orgs = organization_list()
        if opts["org"]:
            orgs = orgs.filter(slug__in=opts["org"])
            missing = set(opts["org"]) - set(orgs.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"Unknown organization: {', '.join(sorted(missing))}")
        by_schema = {o.schema_name: o for o in orgs}
        # a fresh connection every TENANT_SCHEMAS_PER_CONNECTION organizations (tenants/visits.py)
        for schema in schemas_visit(schemas=list(by_schema)):
            days = rollup_backfill(first=first, last=last)
            organization_stats_publish()
            self.stdout.write(f"{by_schema[schema].slug}: {days} day(s) rolled up")

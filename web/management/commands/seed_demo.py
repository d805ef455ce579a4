"""python manage.py seed_demo: two demo organizations with members, challenges and deposits.

Idempotent: running it again changes nothing that is already there.
"""

from django.core.management.base import BaseCommand

from web.demo import DEMO_ORGS, seed_demo


class Command(BaseCommand):
    help = "Load the demo data (idempotent)."

    def handle(self, *args, **opts):
        for line in seed_demo():
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write("Demo organizations:")
        for org in DEMO_ORGS:
            self.stdout.write(f"  {org['name']}: admin {org['admin_phone']}, members {', '.join(m[1] for m in org['members'][:3])}, ...")

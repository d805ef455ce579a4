"""python manage.py mpesa_urls --org SLUG: the callback URLs to register with Daraja, and the shortcode
they are registered for (Daraja's RegisterURL takes both), as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from django_tenants.utils import schema_context

from payments.models import MpesaSettings
from payments.selectors import mpesa_callback_urls
from tenants.models import Organization


class Command(BaseCommand):
    help = "Print the absolute Daraja callback URLs of an organization as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug")

    def handle(self, *args, **opts):
        try:
            org = Organization.objects.get(slug=opts["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug '{opts['org']}'.") from None
        urls = mpesa_callback_urls(organization=org)
        with schema_context(org.schema_name):
            shortcode = MpesaSettings.objects.values_list("shortcode", flat=True).first() or ""
        self.stdout.write(json.dumps({**urls, "shortcode": shortcode}, indent=2))

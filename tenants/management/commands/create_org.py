"""python manage.py create_org --slug SLUG --name NAME --type TYPE --admin-phone PHONE ..."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.selectors import organization_base_url
from tenants.services import organization_create


class Command(BaseCommand):
    help = "Create an organization: its schema, its domain SLUG.BASE_DOMAIN (plus any --domain) and its first admin."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--type", required=True, choices=["chama", "sacco", "mfi", "bank"])
        parser.add_argument("--admin-phone", required=True)
        parser.add_argument("--admin-name", default="")
        parser.add_argument("--domain", action="append", default=[], help="Extra custom domain (repeatable).")
        parser.add_argument("--shortcode", default="", help="M-Pesa Paybill number.")
        parser.add_argument("--ussd-code", default="", help="The USSD service code members dial, e.g. *384*123#.")
        parser.add_argument("--sms-shortcode", default="", help="The shortcode or number members text commands to.")

    def handle(self, *args, **opts):
        try:
            org = organization_create(
                slug=opts["slug"], name=opts["name"], type=opts["type"], admin_phone=opts["admin_phone"],
                admin_name=opts["admin_name"], domains=opts["domain"], shortcode=opts["shortcode"],
                ussd_code=opts["ussd_code"], sms_shortcode=opts["sms_shortcode"],
                actor_label="cli:create_org",
            )
        except ValidationError as exc:
            reason = "; ".join(m for msgs in exc.message_dict.values() for m in msgs) if hasattr(exc, "error_dict") else "; ".join(exc.messages)
            raise CommandError(reason) from None
        self.stdout.write(f"Created {org.name} ({org.slug}) at {organization_base_url(org)}/")

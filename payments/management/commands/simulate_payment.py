"""python manage.py simulate_payment --org SLUG --account CODE --amount N: a Paybill (C2B) payment via Daraja's
C2B simulate (the local simulator, or the Daraja sandbox)."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.models import Organization


class Command(BaseCommand):
    help = "Pay an organization's Paybill as a customer would (C2B), with ACCOUNT as the account number."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--account", required=True, help="BillRefNumber: a member's account code [+ challenge code]")
        parser.add_argument("--amount", required=True)
        parser.add_argument("--phone", default="254708374149", help="Payer MSISDN")

    def handle(self, *args, **opts):
        from payments.daraja import DarajaClient, DarajaError
        from payments.models import MpesaSettings
        from payments.services import c2b_urls_register

        try:
            org = Organization.objects.get(slug=opts["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug '{opts['org']}'.") from None
        try:
            amount = Decimal(opts["amount"])
            if amount <= 0 or amount != amount.to_integral_value():
                raise InvalidOperation
        except InvalidOperation:
            raise CommandError("--amount must be a whole number of shillings above 0.") from None
        with schema_context(org.schema_name):
            from django.db import connection

            connection.set_tenant(org)
            row = MpesaSettings.objects.get()
            try:
                c2b_urls_register()
                body = DarajaClient.for_settings(row).c2b_simulate(amount=amount, msisdn=opts["phone"],
                                                                   bill_ref=opts["account"])
            except DarajaError as exc:
                raise CommandError(f"Daraja refused: {exc} (is `manage.py daraja_simulator` running?)") from None
        self.stdout.write(f"Paid {amount} KES to {row.shortcode} for account {opts['account']}: "
                          f"{body.get('ResponseDescription', body)} {body.get('TransID', '')}".rstrip())

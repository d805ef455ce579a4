"""python manage.py sms_inbound --org SLUG --phone PHONE "BAL" [--url URL] [--wait 5]

Sends one SMS command to the running app as Africa's Talking's incoming-SMS callback, then prints
the reply the app queued (the worker sends it through SMS_BACKEND; console prints it too)."""

from __future__ import annotations

import time

import requests
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.selectors import organization_list
from ussd.selectors import reply_for_message
from ussd.standin import SAFARICOM, default_base_url, sms_post


class Command(BaseCommand):
    help = "Text a command (BAL, RANK, SAVE 500, STOP, START, SALIO, ...) to an organization's shortcode."

    def add_arguments(self, parser):
        parser.add_argument("text", help='The message, e.g. "BAL" or "SAVE 500".')
        parser.add_argument("--org", required=True)
        parser.add_argument("--phone", required=True)
        parser.add_argument("--url", default="")
        parser.add_argument("--network-code", default=SAFARICOM)
        parser.add_argument("--wait", type=float, default=5.0, help="Seconds to wait for the reply.")

    def handle(self, *args, **opts):
        org = organization_list().filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"No organization '{opts['org']}'.")
        if not org.sms_shortcode:
            raise CommandError(f"{org.name} has no SMS shortcode: set one in Django admin (Feature phones).")
        url = (opts["url"] or default_base_url()).rstrip("/") + "/hooks/sms/inbound/"
        try:
            status, body, message_id = sms_post(url=url, sender=opts["phone"], to=org.sms_shortcode,
                                                text=opts["text"], network_code=opts["network_code"])
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {url}: {exc}. Is `make run` running?") from None
        self.stdout.write(f"{opts['phone']} -> {org.sms_shortcode}: {opts['text']!r}  [{status} {body}]")
        deadline = time.monotonic() + opts["wait"]
        while True:
            with schema_context(org.schema_name):
                reply = reply_for_message(provider_id=message_id)
            if reply or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        self.stdout.write(f"{org.sms_shortcode} -> {opts['phone']}: {reply}" if reply else "(no reply queued)")

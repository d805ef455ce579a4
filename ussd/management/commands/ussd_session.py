"""python manage.py ussd_session --org SLUG --phone PHONE [--url URL] [--network-code N] [--press 1 --press 2 ...]

Plays a USSD session in the terminal against the running app (`make run`), posting exactly what
Africa's Talking posts. Type each answer; the session ends at an `END` screen (or Ctrl-D)."""

from __future__ import annotations

import requests
from django.core.management.base import BaseCommand, CommandError

from tenants.selectors import organization_list
from ussd.standin import SAFARICOM, UssdDriver, default_base_url


class Command(BaseCommand):
    help = "Play a USSD session against the running app, as Africa's Talking would."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug (its USSD code is dialled).")
        parser.add_argument("--phone", required=True, help="The member's phone, e.g. 0700000011.")
        parser.add_argument("--url", default="", help="The platform host (default http://BASE_DOMAIN:PORT).")
        parser.add_argument("--network-code", default=SAFARICOM)
        parser.add_argument("--press", action="append", default=None,
                            help="Answer non-interactively (repeatable, in order).")

    def handle(self, *args, **opts):
        org = organization_list().filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"No organization '{opts['org']}'.")
        if not org.ussd_service_code:
            raise CommandError(f"{org.name} has no USSD code: set one in Django admin (Feature phones).")
        url = (opts["url"] or default_base_url()).rstrip("/") + "/hooks/ussd/"
        driver = UssdDriver(url=url, service_code=org.ussd_service_code, phone_number=opts["phone"],
                            network_code=opts["network_code"])
        self.stdout.write(f"Dialling {org.ussd_service_code} from {opts['phone']} ({url})")
        scripted = list(opts["press"]) if opts["press"] is not None else None
        try:
            screen = driver.dial()
            while True:
                self._show(screen)
                if not screen.startswith("CON "):
                    return
                if scripted is not None:
                    if not scripted:
                        return
                    value = scripted.pop(0)
                    self.stdout.write(f"> {value}")
                else:
                    try:
                        value = input("> ")
                    except EOFError:
                        return
                screen = driver.send(value)
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {url}: {exc}. Is `make run` running?") from None

    def _show(self, screen: str) -> None:
        self.stdout.write("-" * 32)
        self.stdout.write(screen[4:] if screen.startswith(("CON ", "END ")) else screen)
        self.stdout.write("-" * 32 + (" (session ended)" if not screen.startswith("CON ") else ""))

"""python manage.py daraja_simulator --port 8900: a local Daraja for MPESA_ENV=simulator."""

import signal
import threading

from django.core.management.base import BaseCommand

from payments.simulator import DarajaSimulator


class Command(BaseCommand):
    help = "Run the local Daraja simulator (OAuth, STK push/query, C2B register/simulate, Transaction Status)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8900)
        parser.add_argument("--delay", type=float, default=3.0, help="Seconds before calling back.")
        parser.add_argument("--cancel-rate", type=float, default=0.1)
        parser.add_argument("--duplicate-rate", type=float, default=0.1)
        parser.add_argument("--drop-rate", type=float, default=0.05, help="Share of payments whose callback never comes.")
        parser.add_argument("--out-of-order-rate", type=float, default=0.05)

    def handle(self, *args, **opts):
        sim = DarajaSimulator(opts["host"], opts["port"], delay=opts["delay"], cancel_rate=opts["cancel_rate"],
                              duplicate_rate=opts["duplicate_rate"], drop_rate=opts["drop_rate"],
                              out_of_order_rate=opts["out_of_order_rate"])
        self.stdout.write(f"Daraja simulator on {sim.url} (any 'sim-<shortcode>-key' / 'sim-<shortcode>-secret' pair)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        sim.start()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Hand the game its view of the ledger (challenges/ledger.py): payments calls the game, never the reverse.
        from accounts.services import paybill_source_install
        from challenges import ledger as game_ledger
        from payments import ledger
        from payments.selectors import organization_paybill

        game_ledger.reader_install(ledger)
        # ... and accounts the Paybill its welcome SMS names (accounts sits below payments).
        paybill_source_install(organization_paybill)

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Hand the game its view of the ledger (challenges/ledger.py): payments calls the game, never the reverse.
        from challenges import ledger as game_ledger
        from payments import ledger

        game_ledger.reader_install(ledger)

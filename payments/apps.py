from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Hand the game its view of the ledger (challenges/ledger.py): payments calls the game, never the reverse.
        from accounts.services import paybill_source_install
        from challenges import ledger as game_ledger
        from payments import ledger
        from notifications.sources import source_install
        from payments.selectors import organization_paybill, saved_total
        from payments.services import mpesa_settings_init
        from tenants.services import provisioning_step_install

        game_ledger.reader_install(ledger)
        # ... accounts the Paybill its welcome SMS names, and tenants the settings row of a new
        # organization (both sit below payments).
        paybill_source_install(organization_paybill)
        provisioning_step_install(mpesa_settings_init)
        # ... and notifications (a leaf) the saved total its weekly summary names.
        source_install("saved_total", saved_total)

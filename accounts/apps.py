from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import admin_login, schema, signals  # noqa: F401  (schema: the OpenAPI auth extension)

        admin_login.connect()

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import admin_login, schema  # noqa: F401  (schema registers the OpenAPI auth extension)

        admin_login.connect()

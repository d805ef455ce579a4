from django.apps import AppConfig


class UssdConfig(AppConfig):
    name = "ussd"
    verbose_name = "Feature phones (USSD and SMS commands)"
    default_auto_field = "django.db.models.BigAutoField"

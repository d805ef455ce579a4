from django.apps import AppConfig


class PaymentsWatchConfig(AppConfig):
    """Suspicious-pattern findings, in the public schema (a SHARED app like payments.platform): the
    organization's admins see their own on /manage/watch/, the platform owner all of them in Django
    admin, from one table."""

    name = "payments.watch"
    label = "payments_watch"
    verbose_name = "Payments (suspicious patterns)"

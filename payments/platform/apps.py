from django.apps import AppConfig


class PaymentsPlatformConfig(AppConfig):
    """Payments records kept in the public schema (a SHARED app, unlike `payments`): callbacks we
    refused, which must never be written into an organization's schema by a sender who may not
    be Safaricom."""

    name = "payments.platform"
    label = "payments_platform"
    verbose_name = "Payments (platform)"

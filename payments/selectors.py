"""Reads for payments."""

from __future__ import annotations

from django_tenants.utils import schema_context

from payments.models import MpesaSettings

CALLBACK_PATHS = {
    # Daraja refuses callback URLs containing words such as "mpesa", "safaricom" or "query".
    "validation": "c2b/validation",
    "confirmation": "c2b/confirmation",
    "stk_callback": "stk/callback",
    "result": "status/result",
    "timeout": "status/timeout",
}


def mpesa_callback_urls(*, organization) -> dict[str, str]:
    """The absolute callback URLs to register with Daraja for this organization."""
    from tenants.selectors import organization_base_url

    with schema_context(organization.schema_name):
        settings_row = MpesaSettings.objects.first()
        if settings_row is None:
            raise MpesaSettings.DoesNotExist(f"{organization.slug} has no M-Pesa settings")
        token = settings_row.callback_token
    base = organization_base_url(organization)
    return {name: f"{base}/hooks/pay/{token}/{path}" for name, path in CALLBACK_PATHS.items()}

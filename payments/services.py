"""Writes for payments."""

from __future__ import annotations

from payments.models import MpesaSettings


def mpesa_settings_init(*, shortcode: str = "") -> MpesaSettings:
    """Create the organization's M-Pesa settings row (call inside its schema)."""
    settings_row = MpesaSettings.objects.first()
    if settings_row is None:
        settings_row = MpesaSettings.objects.create(shortcode=shortcode or "")
    elif shortcode and settings_row.shortcode != shortcode:
        settings_row.shortcode = shortcode
        settings_row.save(update_fields=["shortcode", "updated_at"])
    return settings_row

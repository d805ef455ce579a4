"""Writes for notifications."""

from __future__ import annotations

from notifications.backends import SmsMessage, get_sms_backend


def sms_send_now(*, to: str, message: str, organization_slug: str) -> bool:
    """Send one SMS immediately through the configured backend (OTP codes cannot wait)."""
    (result,) = get_sms_backend().send([SmsMessage(to=to, message=message, organization=organization_slug)])
    return result.ok


def notify(*, user, template: str, context: dict | None = None, urgent: bool = False, channel: str | None = None) -> None:
    """Queue a message to `user` in the current transaction (the outbox). The notifications
    capability fills this in; callers may rely on the signature."""

"""Notifications (tenant schema): the outbox, member preferences, per-org templates and provider
settings, web-push subscriptions and broadcasts. docs/NOTIFICATIONS.md explains the flow."""

from __future__ import annotations

import secrets
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    PUSH = "push", _("Web push")


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


class NotificationPreference(models.Model):
    """A member's channel choice and opt-outs (one row per user, created on first use)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    has_whatsapp = models.BooleanField(default=False, help_text=_("The member uses WhatsApp on this number."))
    sms_opted_out = models.BooleanField(default=False)
    whatsapp_opted_out = models.BooleanField(default=False)
    reminders_enabled = models.BooleanField(
        default=True, help_text=_("Streak reminders, weekly summaries and announcements.")
    )
    opt_out_reason = models.CharField(max_length=60, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=["sms", "whatsapp", "push"]), name="pref_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class SmsSettings(models.Model):
    """The organization's Africa's Talking account (a singleton in its schema). Secrets are
    encrypted at rest (FIELD_ENCRYPTION_KEYS) and only ever shown masked."""

    username = models.CharField(max_length=80, blank=True)
    api_key = EncryptedTextField(blank=True, default="")
    sender_id = models.CharField(max_length=11, blank=True, help_text=_("Alphanumeric sender ID, at most 11 characters."))
    whatsapp_number = models.CharField(max_length=16, blank=True, help_text=_("The WhatsApp Business number (E.164)."))
    cost_per_segment = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("0.80"), help_text=_("KES per SMS segment, for estimates.")
    )
    quiet_hours_start = models.TimeField(default=time(21, 0), help_text=_("Non-urgent messages wait from then..."))
    quiet_hours_end = models.TimeField(default=time(7, 0), help_text=_("...until then (organization time zone)."))
    daily_cap = models.PositiveSmallIntegerField(default=5, help_text=_("Non-urgent messages per member per day."))
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SMS settings"
        verbose_name_plural = "SMS settings"

    def __str__(self) -> str:
        return f"Africa's Talking {self.username or '(platform account)'}"

    @property
    def api_key_masked(self) -> str:
        return mask_secret(self.api_key)


def mask_secret(value: str) -> str:
    if not value:
        return ""
    return "•" * 8 + value[-4:] if len(value) > 8 else "•" * 8


class NotificationTemplate(models.Model):
    """An organization's wording for one template key in one language (defaults live in code)."""

    key = models.CharField(max_length=32)
    language = models.CharField(max_length=2, choices=[("en", "English"), ("sw", "Kiswahili")])
    title = models.CharField(max_length=60)
    body = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="template_key_language_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class Notification(models.Model):
    """One outgoing message: the transactional outbox row. Written in the same transaction as the
    event that caused it, sent by Celery after commit, re-sent by the sweep if the broker lost it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    template = models.CharField(max_length=32)
    language = models.CharField(max_length=2, default="en")
    title = models.CharField(max_length=120, blank=True)
    message = models.TextField()
    to = models.CharField(max_length=255, blank=True, help_text=_("Phone number (SMS/WhatsApp)."))
    urgent = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    delivery_status = models.CharField(max_length=30, blank=True)
    cost = models.CharField(max_length=30, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    broadcast = models.ForeignKey("Broadcast", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text=_("Deferred (quiet hours) until then."))
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)  # first open of its signed link; later ones count nothing

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="notif_status_due"),
            models.Index(fields=["user", "-created_at"], name="notif_user_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sending", "sent", "failed", "skipped"]), name="notif_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(channel__in=["sms", "whatsapp", "push"]), name="notif_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.user_id} [{self.channel} {self.status}]"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (the PushSubscription.toJSON() of the service worker)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push for {self.user_id}"


class Broadcast(models.Model):
    """An announcement from an org admin to all members or one challenge's participants."""

    class Audience(models.TextChoices):
        ALL = "all", _("All members")
        CHALLENGE = "challenge", _("A challenge's participants")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    message = models.TextField()
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    challenge_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    recipients = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"broadcast {self.pk} ({self.status})"

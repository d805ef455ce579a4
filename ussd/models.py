"""Feature-phone traffic (tenant schema): one row per USSD session and per incoming SMS.

The menu's working state lives in Redis for the session's lifetime (ussd/state.py); these rows are
what stays: who dialled, from which network (Africa's Talking's `networkCode`), what happened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UssdSession(models.Model):
    session_id = models.CharField(max_length=100, unique=True, help_text="Africa's Talking's sessionId.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    phone_number = models.CharField(max_length=16)
    service_code = models.CharField(max_length=40)
    network_code = models.CharField(max_length=10, blank=True)
    steps = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=40, blank=True, help_text="What the session ended with (e.g. joined, save).")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"USSD {self.session_id}"


class InboundSms(models.Model):
    """An SMS a member sent to the organization's shortcode (unique on the provider's id: a replay is ignored)."""

    provider_id = models.CharField(max_length=100, unique=True, help_text="Africa's Talking's id.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    phone_number = models.CharField(max_length=16)
    to = models.CharField(max_length=16)
    text = models.CharField(max_length=480)
    link_id = models.CharField(max_length=100, blank=True)
    network_code = models.CharField(max_length=10, blank=True)
    sent_at = models.CharField(max_length=40, blank=True, help_text="The provider's `date`, as sent.")
    command = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"SMS {self.provider_id}"

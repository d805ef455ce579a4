"""The M-Pesa ledger and per-organization Daraja settings (tenant schema)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


class MpesaSettings(models.Model):
    """One row per organization (a singleton in its schema)."""

    class ShortcodeType(models.TextChoices):
        PAYBILL = "paybill", _("Paybill")
        TILL = "till", _("Till (Buy Goods)")

    class Environment(models.TextChoices):
        SIMULATOR = "simulator", _("Local simulator")
        SANDBOX = "sandbox", _("Daraja sandbox")
        PRODUCTION = "production", _("Production")

    shortcode = models.CharField(max_length=12, blank=True)
    shortcode_type = models.CharField(max_length=8, choices=ShortcodeType.choices, default=ShortcodeType.PAYBILL)
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.SIMULATOR)
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "M-Pesa settings"
        verbose_name_plural = "M-Pesa settings"

    def __str__(self) -> str:
        return f"{self.get_shortcode_type_display()} {self.shortcode or '(not set)'}"


class Transaction(models.Model):
    """Append-only ledger of deposits. Corrections are new rows pointing at the original."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")
        UNMATCHED = "unmatched", _("Unmatched")
        REVERSED = "reversed", _("Reversed")

    class Source(models.TextChoices):
        C2B = "c2b", _("Paybill / Till")
        STK = "stk", _("Save now (STK push)")
        MANUAL = "manual", _("Manual")
        REVERSAL = "reversal", _("Reversal")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices)
    transaction_id = models.CharField(max_length=40, unique=True, null=True, blank=True, help_text=_("M-Pesa TransID"))
    mpesa_receipt = models.CharField(max_length=40, unique=True, null=True, blank=True)
    checkout_request_id = models.CharField(max_length=80, unique=True, null=True, blank=True)
    phone_number = models.CharField(max_length=80, blank=True, help_text=_("E.164, or Daraja's SHA-256 hash"))
    bill_ref_number = models.CharField(max_length=40, blank=True)
    transacted_at = models.DateTimeField(null=True, blank=True, help_text=_("TransTime / TransactionDate"))
    verified_at = models.DateTimeField(null=True, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="tx_user_date"),
            models.Index(fields=["status", "created_at"], name="tx_status_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0) | models.Q(source="reversal"), name="tx_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "verified", "failed", "unmatched", "reversed"]),
                name="tx_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} KES {self.status} ({self.mpesa_receipt or self.checkout_request_id or self.pk})"

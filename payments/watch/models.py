"""Suspicious-pattern findings and each organization's thresholds (public schema).

A finding flags; it never blocks money. Rows name the tenant's member and ledger row by id (no
foreign key crosses into a tenant schema), with the figures that tripped the rule.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Rule(models.TextChoices):
    SHARED_PAYER = "shared_payer", _("One phone pays into many accounts")
    OUTSIZED_DEPOSIT = "outsized_deposit", _("Deposit far above the member's usual")
    DEPOSIT_BURST = "deposit_burst", _("Many small deposits in a short time")
    REVERSALS = "reversals", _("Deposits followed by reversals")
    ADMIN_ASSIGNMENTS = "admin_assignments", _("An admin assigns many unmatched payments to one member")
    OUTSIDE_ALLOWLIST = "outside_allowlist", _("Callbacks from outside Safaricom's addresses")


class Finding(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    # What the finding is about, e.g. "tx:42", "payer:<hash>:2026-12-04": evaluating again never duplicates it.
    subject = models.CharField(max_length=120)
    member_id = models.BigIntegerField(null=True, blank=True, help_text=_("The member (in the organization's schema)."))
    member_name = models.CharField(max_length=150, blank=True)
    transaction_id = models.BigIntegerField(null=True, blank=True, help_text=_("The ledger row, when there is one."))
    details = models.JSONField(default=dict, help_text=_("The figures that tripped the rule, and its thresholds."))
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    review_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "rule", "subject"],
                                               name="finding_unique_subject")]
        indexes = [models.Index(fields=["organization", "reviewed_at", "-created_at"], name="finding_org_open")]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject}"

    @property
    def reason(self) -> str:
        from payments.watch.rules import finding_reason

        return finding_reason(self)


class WatchSettings(models.Model):
    """An organization's thresholds; any left out fall back to SUSPICIOUS_DEFAULTS (settings.py)."""

    organization = models.OneToOneField("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    thresholds = models.JSONField(default=dict, blank=True,
                                  help_text=_("Only the values to change, e.g. {\"outsized_floor\": 20000}."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "suspicious-pattern thresholds"
        verbose_name_plural = "suspicious-pattern thresholds"

    def __str__(self) -> str:
        return f"thresholds for {self.organization_id}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = set(self.thresholds or {}) - set(settings.SUSPICIOUS_DEFAULTS)
        if unknown:
            raise ValidationError({"thresholds": f"unknown thresholds: {', '.join(sorted(unknown))}"})
        for key, value in (self.thresholds or {}).items():
            if not isinstance(value, int | float) or value < 0:
                raise ValidationError({"thresholds": f"{key} must be a number of at least 0"})


class PlatformHealth(models.Model):
    """The platform owner's health page in Django admin (payments/watch/platform.py); no table."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = "platform health"
        verbose_name_plural = "platform health"

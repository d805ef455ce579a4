"""Savings challenges. The rules are in DESIGN.md ("Gamification rules") and docs/GAMIFICATION.md."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

CHALLENGE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_challenge_code() -> str:
    return "".join(secrets.choice(CHALLENGE_CODE_ALPHABET) for _ in range(4))


class Challenge(models.Model):
    class Type(models.TextChoices):
        FIXED_AMOUNT = "fixed_amount", _("Fixed amount")
        PERCENTAGE = "percentage", _("Percentage increase")
        STREAK = "streak", _("Streak")
        GROUP = "group", _("Group")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    target = models.JSONField()
    duration_days = models.PositiveIntegerField()
    start_date = models.DateField()
    end_date = models.DateField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    code = models.CharField(
        max_length=8, unique=True, default=new_challenge_code,
        help_text=_("Typed after the account code in the M-Pesa account number."),
    )
    participants_count = models.PositiveIntegerField(default=0)
    total_saved = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="challenges_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_days__gte=1), name="challenge_duration_positive"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")), name="challenge_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(type__in=["fixed_amount", "percentage", "streak", "group"]),
                name="challenge_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "active", "completed", "cancelled"]),
                name="challenge_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # end_date is derived, never typed: the last day of the challenge.
        self.end_date = self.start_date + timedelta(days=self.duration_days - 1)
        if kwargs.get("update_fields") is not None and "start_date" in kwargs["update_fields"]:
            kwargs["update_fields"] = list(set(kwargs["update_fields"]) | {"end_date"})
        super().save(*args, **kwargs)

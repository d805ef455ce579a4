"""Analytics tables in each organization's schema: product events and the daily rollups.

The rollups are derived data: `analytics.services.rollup_days` rewrites any day from the ledger,
the member list and the events, so they can always be rebuilt.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """A meaningful moment in a member's life (append-only)."""

    class Type(models.TextChoices):
        LOGIN = "login", _("Login")
        CHALLENGE_JOINED = "challenge_joined", _("Challenge joined")
        DEPOSIT_VERIFIED = "deposit_verified", _("Deposit verified")
        DEPOSIT_REVERSED = "deposit_reversed", _("Deposit reversed")
        BADGE_EARNED = "badge_earned", _("Badge earned")
        STREAK_BROKEN = "streak_broken", _("Streak broken")
        NOTIFICATION_OPENED = "notification_opened", _("Notification opened")

    type = models.CharField(max_length=40)
    # No database constraint: a deferred FK check could fail the caller's commit, and recording
    # an event must never break the action that caused it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="analytics_events",
        db_constraint=False,
    )
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["type", "created_at"], name="event_type_date"),
            models.Index(fields=["user", "type", "created_at"], name="event_user_type_date"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.user_id or '-'} {self.created_at:%Y-%m-%d %H:%M}"


class DailyRollup(models.Model):
    """One organization-day (challenge = NULL) or one challenge-day: the figures of that day.

    Days are calendar days in the organization's time zone. Re-rolling a day replaces its rows.
    """

    day = models.DateField()
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    deposits_count = models.PositiveIntegerField(default=0)
    deposits_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    savers = models.PositiveIntegerField(default=0, help_text=_("Members with a verified deposit that day."))
    new_members = models.PositiveIntegerField(default=0)
    members_total = models.PositiveIntegerField(default=0, help_text=_("Active members at the end of the day."))
    logins = models.PositiveIntegerField(default=0)
    challenge_joins = models.PositiveIntegerField(default=0)
    notifications_opened = models.PositiveIntegerField(default=0)
    notification_conversions = models.PositiveIntegerField(
        default=0, help_text=_("Opens followed by a verified deposit of the same member within 24 hours.")
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["day", "challenge"], nulls_distinct=False, name="rollup_one_per_day_scope"),
        ]
        indexes = [models.Index(fields=["challenge", "day"], name="rollup_challenge_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.challenge_id or 'all'}"


class SaverDay(models.Model):
    """What one member saved on one day (into one challenge, or none): the fact table behind
    distinct-saver counts, retention cohorts and streaks."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    deposits_count = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user", "challenge"], nulls_distinct=False, name="saverday_one_per_scope"
            ),
        ]
        indexes = [
            models.Index(fields=["day", "user"], name="saverday_day_user"),
            models.Index(fields=["challenge", "day"], name="saverday_challenge_day"),
            models.Index(fields=["user", "day"], name="saverday_user_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_id}: {self.amount}"


class SaverSummary(models.Model):
    """Per member and scope (a challenge, or NULL = all their deposits) through the rollup
    watermark: when they first and last saved. Rebuilt after every rollup run; it keeps the
    active-saver figures to a few index reads (outcomes and participation are the game's
    participations, challenges.selectors.participation_outcomes)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    deposits_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "challenge"], nulls_distinct=False, name="saversummary_one_per_scope"
            ),
        ]
        indexes = [models.Index(fields=["challenge", "last_day"], name="saversummary_scope_last")]

    def __str__(self) -> str:
        return f"user {self.user_id} / {self.challenge_id or 'all'}: last {self.last_day}"

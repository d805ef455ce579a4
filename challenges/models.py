"""Savings challenges. The rules are in DESIGN.md ("Gamification rules") and docs/GAMIFICATION.md."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import SystemBadge

CHALLENGE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_challenge_code() -> str:
    return "".join(secrets.choice(CHALLENGE_CODE_ALPHABET) for _ in range(4))


class Challenge(models.Model):
    class Type(models.TextChoices):
        FIXED_AMOUNT = "fixed_amount", _("Fixed amount")
        PERCENTAGE = "percentage", _("Percentage increase")
        STREAK = "streak", _("Streak")
        GROUP = "group", _("Group")
        GOAL = "goal", _("Personal goal")  # one member's own goal (challenges/goals.py); no public board

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
    started_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    settled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A cancel can be undone for a while (challenge_restore): when it happened and what it was before.
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_from = models.CharField(max_length=10, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_days__gte=1), name="challenge_duration_positive"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")), name="challenge_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(type__in=["fixed_amount", "percentage", "streak", "group", "goal"]),
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


class Team(models.Model):
    """A team in a group challenge. `total_saved` is the sum of its members' contributions."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=80)
    members_count = models.PositiveIntegerField(default=0)
    total_saved = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    goal_reached_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "name"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "name"], name="team_name_unique_per_challenge"),
            models.CheckConstraint(condition=models.Q(total_saved__gte=0), name="team_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Participant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    progress = models.JSONField(default=dict, blank=True)
    total_contributed = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    points = models.BigIntegerField(default=0)
    # Baseline for percentage challenges: verified deposits in the calendar month before start_date.
    baseline = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    final_rank = models.PositiveIntegerField(null=True, blank=True)
    # Bumped on every score change; Redis applies a write only if it is newer (out-of-order safe).
    version = models.PositiveIntegerField(default=0)
    streak_reminded_window = models.CharField(max_length=16, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["challenge", "-points", "-total_contributed", "joined_at", "id"]
        indexes = [models.Index(fields=["user", "status"], name="participant_user_status")]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "user"], name="participant_once_per_challenge"),
            models.CheckConstraint(condition=models.Q(points__gte=0), name="participant_points_not_negative"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "completed", "failed"]), name="participant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.challenge}"


class ScoredDeposit(models.Model):
    """One row per ledger transaction already scored: the one guard of the payments -> game hand-over,
    written by deposits_score on the locked ledger rows in the scoring's own transaction."""

    transaction = models.OneToOneField("payments.Transaction", on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField(auto_now_add=True)


class MemberMetrics(models.Model):
    """A member's deposit figures for the badge rules (challenges/metrics.py), kept by the scoring batch.

    Updated in the same transaction that scores the member's deposits (challenges/services/
    member_metrics.py), so judging badges for a batch reads one row per member instead of the
    member's whole ledger; rebuilt from the ledger for a reversal and by recompute_scores. Only
    deposits already scored (a ScoredDeposit row) that still count are in it. `day_runs` holds
    the runs of consecutive local days with a deposit, [[first, last], ...] in ISO dates, oldest
    first: enough to keep both best streaks exact when a deposit arrives late and fills a gap."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    total_saved = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    deposits_count = models.PositiveIntegerField(default=0)
    largest_deposit = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    best_streak_days = models.PositiveIntegerField(default=0)
    best_streak_weeks = models.PositiveIntegerField(default=0)
    day_runs = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"metrics of user {self.user_id}"


class ReversedDeposit(models.Model):
    """One row per reversed deposit already taken back out of the game: the idempotency guard of
    challenges.services.reversals.deposit_reversal_apply (a reversal handled twice claws back once)."""

    transaction = models.OneToOneField("payments.Transaction", on_delete=models.PROTECT, related_name="+")
    reversed_at = models.DateTimeField(auto_now_add=True)


class Contribution(models.Model):
    """A verified deposit counted toward one participation (the input of every recompute)."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="contributions")
    transaction = models.ForeignKey("payments.Transaction", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    local_date = models.DateField(help_text=_("The deposit's date in the organization's time zone."))
    points_awarded = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["local_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "transaction"], name="contribution_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="contribution_amount_positive"),
        ]


class PointAward(models.Model):
    """Every point a member earns, with its reason, so a score can be explained and recomputed."""

    class Reason(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        STREAK_TOPUP = "streak_topup", _("Streak multiplier (late deposit)")
        # issue 18: a late deposit can change which missed windows a freeze or the earn-back keeps
        STREAK_FIX = "streak_fix", _("Streak corrected (late deposit)")
        EARLY_BIRD = "early_bird", _("Early bird bonus")
        COMPLETION = "completion", _("Completion bonus")
        REFERRAL = "referral", _("Referral bonus")
        REVERSAL = "reversal", _("Deposit reversed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="point_awards")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.CASCADE, related_name="awards",
        help_text=_("Empty for awards outside any challenge (referrals)."),
    )
    transaction = models.ForeignKey(
        "payments.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # Negative only on `reversal` rows (the points a reversed deposit took back) and `streak_fix` rows
    # (what a late deposit that moved the earn-back took back), so that the rows of a participation
    # always add up to its points.
    points = models.BigIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("1"))
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "transaction"], condition=models.Q(reason="deposit"),
                name="award_deposit_once",
            ),
            # No "once per participant" index on early_bird / completion rows any more: a reversal can
            # take a bonus back (challenges/services/reversals.py), and it can then be earned again. The
            # participant row lock and its status keep each earning paid once.
            models.UniqueConstraint(
                fields=["user", "transaction"], condition=models.Q(reason="referral"), name="award_referral_once",
            ),
            models.UniqueConstraint(
                fields=["participant", "transaction"], condition=models.Q(reason="reversal"),
                name="award_reversal_once",
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=["deposit", "streak_topup", "streak_fix", "early_bird", "completion",
                                               "referral", "reversal"]),
                name="award_reason_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=0) | models.Q(reason__in=["reversal", "streak_fix"]),
                name="award_negative_only_takeback",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason}"


RARITY_CHOICES = SystemBadge.Rarity.choices  # one list of rarities for platform and organization badges


class Badge(models.Model):
    """An organization's own badge (the platform catalogue is tenants.SystemBadge)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80)
    name_sw = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=240)
    description_sw = models.CharField(max_length=240, blank=True)
    icon = models.CharField(max_length=16, default="🏅")
    criteria = models.JSONField()
    rarity = models.CharField(max_length=10, choices=RARITY_CHOICES, default="common")
    per_challenge = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rarity", "name"]

    def __str__(self) -> str:
        return self.name


class BadgeAward(models.Model):
    """A badge earned. `badge_key` is `system:<slug>` or `org:<slug>` (the catalogue is in public)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badge_awards")
    badge_key = models.CharField(max_length=80)
    challenge = models.ForeignKey(Challenge, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    awarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-awarded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "badge_key"], condition=models.Q(challenge__isnull=True), name="badge_once_per_member"
            ),
            models.UniqueConstraint(
                fields=["user", "badge_key", "challenge"], condition=models.Q(challenge__isnull=False),
                name="badge_once_per_challenge",
            ),
        ]


class LeaderboardEntry(models.Model):
    """The `leaderboard` table: periodic snapshots of the Redis ranks (final ones are frozen)."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="leaderboard")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rank = models.PositiveIntegerField()
    score = models.BigIntegerField()
    total_saved = models.DecimalField(max_digits=14, decimal_places=2)
    is_final = models.BooleanField(default=False)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "leaderboard"
        ordering = ["challenge", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "participant"], name="leaderboard_one_row_per_participant"),
        ]


# --- personal goals and streak freezes (issue 18; challenges/goals.py, challenges/streaks.py) -----------------
class PersonalGoal(models.Model):
    """A member's own goal: a one-member challenge of type `goal` in the engine (points, streaks and
    badges apply; it has no public board). The name is the member's: leaders never see it unless
    `shared`; the challenge row only carries a neutral name."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Every week")
        MONTHLY = "monthly", _("Every month")

    challenge = models.OneToOneField(Challenge, on_delete=models.CASCADE, related_name="personal_goal")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_goals")
    name = models.CharField(max_length=80)
    target_amount = models.DecimalField(max_digits=12, decimal_places=2)
    target_date = models.DateField(null=True, blank=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    shared = models.BooleanField(default=False, help_text=_("Leaders may see the goal's name."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(target_amount__gt=0), name="goal_target_positive"),
            models.CheckConstraint(condition=models.Q(frequency__in=["daily", "weekly", "monthly"]),
                                   name="goal_frequency_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class StreakFreeze(models.Model):
    """Every streak freeze earned or used and every missed window earned back, with its reason, like
    PointAward: a streak stays explainable, and recompute_scores compares these rows with the rules.

    `count` is +1 when it happened, -1 when a later-arriving (or reversed) deposit means it no longer
    did; the rows of one (participant, reason, window) always add up to 0 or 1."""

    class Reason(models.TextChoices):
        EARNED = "earned", _("Freeze earned")
        USED = "used", _("Freeze used on a missed window")
        EARNED_BACK = "earned_back", _("Missed window earned back")

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="freezes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="streak_freezes")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    window = models.DateField(help_text=_("First day of the streak window (day, ISO week or month)."))
    count = models.SmallIntegerField(default=1)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["participant", "window"], name="freeze_participant_window")]
        constraints = [
            models.CheckConstraint(condition=models.Q(reason__in=["earned", "used", "earned_back"]),
                                   name="freeze_reason_valid"),
            models.CheckConstraint(condition=models.Q(count__in=[1, -1]), name="freeze_count_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.count:+d} {self.reason} {self.window}"

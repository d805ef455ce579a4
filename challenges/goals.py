"""Personal goals (issue 18): a member's own goal, run as a one-member challenge of type `goal`.

The engine scores it like any challenge (points, streaks, streak freezes, badges; whether it earns
points and badges is the org's `goals_count` rule) but it has no public board: challenge lists, the
leaderboard pages and other members never see it, and its challenge row carries only a neutral name.
The goal's own name lives in PersonalGoal and reaches a leader only when the member shares it.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum

from challenges import effects, scoring
from challenges.models import Challenge, Participant, PersonalGoal

GOAL_CHALLENGE_NAME = "Personal goal"  # what the challenge row says; never the member's words
MAX_GOAL_DAYS = 366
OPEN_ENDED_DAYS = 365  # a goal without a date runs a year
MAX_GOALS = 5  # running goals per member


# --- validation ---------------------------------------------------------------------------------------
def goal_validate(*, data: dict, today: date, partial: bool = False) -> dict:
    """Clean a goal's fields; raises ValidationError({field: message}) naming the field."""
    errors: dict[str, str] = {}
    out: dict = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 80:
            errors["name"] = "Give the goal a name of 1-80 characters."
        out["name"] = name
    if "target_amount" in data or not partial:
        try:
            amount = Decimal(str(data.get("target_amount")))
            if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e10") or amount != amount.quantize(
                    Decimal("0.01")):
                raise InvalidOperation
            out["target_amount"] = amount
        except (InvalidOperation, ValueError, TypeError):
            errors["target_amount"] = "Must be an amount greater than zero, with at most 2 decimal places."
    if "target_date" in data or not partial:
        value = data.get("target_date")
        if value in (None, ""):
            out["target_date"] = None
        else:
            try:
                day = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                errors["target_date"] = "Use a date like 2026-12-31."
            else:
                if day <= today or (day - today).days >= MAX_GOAL_DAYS:
                    errors["target_date"] = f"Pick a date after today and within {MAX_GOAL_DAYS - 1} days."
                out["target_date"] = day
    if "frequency" in data or not partial:
        frequency = data.get("frequency") or PersonalGoal.Frequency.WEEKLY
        if frequency not in PersonalGoal.Frequency.values:
            errors["frequency"] = "Must be one of daily, weekly, monthly."
        out["frequency"] = frequency
    if "shared" in data:
        if not isinstance(data["shared"], bool):
            errors["shared"] = "Must be true or false."
        out["shared"] = data["shared"]
    unknown = set(data) - {"name", "target_amount", "target_date", "frequency", "shared"}
    for key in sorted(unknown):
        errors[key] = "Unknown field."
    if errors:
        raise ValidationError(errors)
    return out


def _plan_per_window(amount: Decimal, start: date, end: date, frequency: str) -> Decimal:
    """The member's plan: the amount each window needs to reach the target by the date (rounded up)."""
    unit = scoring.FREQUENCY_UNITS[frequency]
    windows = max(1, len(scoring.windows_between(start, end, unit)))
    return (amount / windows).quantize(Decimal("0.01"), rounding="ROUND_CEILING")


# --- writes ---------------------------------------------------------------------------------------------
def goal_create(*, user, name: str, target_amount, target_date=None, frequency: str = "weekly",
                shared: bool = False) -> PersonalGoal:
    """Set a goal: a one-member challenge, active from today, the member already in it."""
    from challenges.services.definitions import challenge_save_new
    from challenges.services import local_today, participant_join

    today = local_today()
    clean = goal_validate(data={"name": name, "target_amount": target_amount, "target_date": target_date,
                                "frequency": frequency, "shared": bool(shared)}, today=today)
    with transaction.atomic():
        running = PersonalGoal.objects.select_for_update().filter(
            user=user, challenge__status=Challenge.Status.ACTIVE).count()
        if running >= MAX_GOALS:
            raise ValidationError({"name": f"You can run at most {MAX_GOALS} goals at a time."})
        end = clean["target_date"] or today + timedelta(days=OPEN_ENDED_DAYS - 1)
        target = {"amount": f"{clean['target_amount']:.2f}", "frequency": clean["frequency"]}
        if clean["target_date"]:
            target["min_amount"] = f"{_plan_per_window(clean['target_amount'], today, end, clean['frequency']):.2f}"
        challenge = Challenge(name=GOAL_CHALLENGE_NAME, type=Challenge.Type.GOAL, target=target,
                              duration_days=(end - today).days + 1, start_date=today,
                              status=Challenge.Status.ACTIVE, created_by=user)
        challenge_save_new(challenge)
        goal = PersonalGoal.objects.create(challenge=challenge, user=user, name=clean["name"],
                                           target_amount=clean["target_amount"], target_date=clean["target_date"],
                                           frequency=clean["frequency"], shared=clean["shared"])
        participant_join(challenge=challenge, user=user)
        # the audit names the goal by id only: its name is the member's
        effects.audit(user, "goal.created", challenge, after={"goal": goal.pk, "frequency": goal.frequency,
                                                              "dated": goal.target_date is not None})
        effects.event("goal_created", user, {"challenge": challenge.pk, "frequency": goal.frequency,
                                             "dated": goal.target_date is not None})
    return goal


def goal_update(*, goal: PersonalGoal, user, data: dict) -> PersonalGoal:
    """Rename, share or stop sharing a goal, or stop it (`{"status": "cancelled"}`). Amount, date and
    frequency are the challenge's rules and stay as set (start a new goal to change them)."""
    from challenges.services import local_today

    data = dict(data)
    status = data.pop("status", None)
    for fixed in ("target_amount", "target_date", "frequency"):
        if fixed in data:
            raise ValidationError({fixed: "A goal's amount, date and frequency cannot change; start a new goal."})
    clean = goal_validate(data=data, today=local_today(), partial=True)
    with transaction.atomic():
        goal = PersonalGoal.objects.select_for_update().select_related("challenge").get(pk=goal.pk, user=user)
        for key, value in clean.items():
            setattr(goal, key, value)
        goal.save()
        if status is not None:
            if status != Challenge.Status.CANCELLED:
                raise ValidationError({"status": "A goal can only be stopped (cancelled)."})
            if goal.challenge.status == Challenge.Status.ACTIVE:
                Challenge.objects.filter(pk=goal.challenge_id).update(status=Challenge.Status.CANCELLED)
                goal.challenge.status = Challenge.Status.CANCELLED
        effects.audit(user, "goal.updated", goal.challenge, after={"goal": goal.pk, "shared": goal.shared,
                                                                   "status": goal.challenge.status})
    return goal


# --- reads ----------------------------------------------------------------------------------------------
def goal_of(*, user, goal_id) -> PersonalGoal | None:
    """The member's own goal (None for anyone else's, or a junk id: the same 404)."""
    try:
        return PersonalGoal.objects.select_related("challenge").filter(pk=int(goal_id), user=user).first()
    except (TypeError, ValueError):
        return None


def goal_summary(goal: PersonalGoal, participant: Participant | None, today: date) -> dict:
    """What the member sees of a goal: progress, and what to save each week to make it by the date."""
    progress = dict((participant.progress if participant else None) or {})
    saved = participant.total_contributed if participant else Decimal("0.00")
    remaining = max(goal.target_amount - saved, Decimal("0.00"))
    per_week = None
    weeks_left = None
    if goal.target_date and remaining > 0 and goal.target_date >= today:
        weeks_left = max(1, math.ceil(((goal.target_date - today).days + 1) / 7))
        per_week = (remaining / weeks_left).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    percent = 0 if goal.target_amount <= 0 else int(min(Decimal("1"), saved / goal.target_amount) * 100)
    return {
        "id": goal.pk, "name": goal.name, "target_amount": f"{goal.target_amount:.2f}",
        "target_date": goal.target_date.isoformat() if goal.target_date else None, "frequency": goal.frequency,
        "frequency_label": str(PersonalGoal.Frequency(goal.frequency).label), "shared": goal.shared,
        "status": participant.status if participant else "active", "challenge_status": goal.challenge.status,
        "challenge_id": goal.challenge_id, "code": goal.challenge.code,
        "saved": f"{saved:.2f}", "remaining": f"{remaining:.2f}", "percent": percent,
        "per_week": f"{per_week:.2f}" if per_week is not None else None, "weeks_left": weeks_left,
        "plan_per_window": goal.challenge.target.get("min_amount"),
        "points": participant.points if participant else 0,
        "streak": {"current": int(progress.get("current_streak", 0)), "best": int(progress.get("best_streak", 0)),
                   "unit": progress.get("unit", "week"), "freezes_held": int(progress.get("freezes_held", 0)),
                   "freeze_every": progress.get("freeze_every"), "earn_back": progress.get("earn_back"),
                   "earn_back_used": bool(progress.get("earn_back_used"))},
        "created_at": goal.created_at.isoformat(),
    }


def member_goals(*, member, include_ended: bool = True) -> list[dict]:
    """The member's goals, running first, each with its progress (one query for goals, one for progress)."""
    from challenges.services import local_today

    goals = list(PersonalGoal.objects.filter(user=member).select_related("challenge"))
    if not include_ended:
        goals = [g for g in goals if g.challenge.status == Challenge.Status.ACTIVE]
    participants = {p.challenge_id: p for p in Participant.objects.filter(
        user=member, challenge_id__in=[g.challenge_id for g in goals])}
    today = local_today()
    rows = [goal_summary(g, participants.get(g.challenge_id), today) for g in goals]
    rows.sort(key=lambda r: (r["challenge_status"] != Challenge.Status.ACTIVE, r["status"] == "completed"))
    return rows


def goal_uptake() -> dict:
    """For leaders (analytics): how many members set goals and how they are doing. Never a goal's name,
    except those their members chose to share."""
    from accounts.models import User

    stats = PersonalGoal.objects.aggregate(
        goals=Count("pk"), members=Count("user", distinct=True),
        running=Count("pk", filter=Q(challenge__status=Challenge.Status.ACTIVE)),
        completed=Count("pk", filter=Q(challenge__participants__status=Participant.Status.COMPLETED)),
        dated=Count("pk", filter=Q(target_date__isnull=False)), shared=Count("pk", filter=Q(shared=True)))
    saved = (Participant.objects.filter(challenge__type=Challenge.Type.GOAL)
             .aggregate(total=Sum("total_contributed"))["total"] or Decimal("0.00"))
    members_total = User.objects.filter(is_active=True, role="member").count()
    shared = [{"name": name, "member": member, "target_amount": f"{amount:.2f}"}
              for name, member, amount in PersonalGoal.objects.filter(shared=True).order_by("-created_at")
              .values_list("name", "user__name", "target_amount")[:20]]
    return {**stats, "saved": f"{saved:.2f}", "members_total": members_total,
            "uptake_percent": int(stats["members"] * 100 / members_total) if members_total else 0,
            "shared_goals": shared}

"""Challenge definitions: validate a target for its type, create, edit (draft -> active -> completed /
cancelled), delete a draft. Every change writes an audit row (challenges/effects.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from challenges import effects, readcache, scoring
from challenges.models import Challenge
from challenges.services.lifecycle import challenge_settle
from tenants.calendar import local_today


MAX_DURATION_DAYS = 366
CHALLENGE_EDITABLE_FIELDS = ["name", "description", "type", "target", "duration_days", "start_date"]


def _positive_decimal(target: dict, name: str, errors: dict, *, required: bool = True, allow_zero: bool = False):
    if name not in target or target[name] in (None, ""):
        if required:
            errors[name] = "This field is required."
        return None
    try:
        value = Decimal(str(target[name]))
    except (InvalidOperation, ValueError):
        errors[name] = "Must be a number."
        return None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        errors[name] = "Must be greater than zero."
        return None
    if value != value.quantize(Decimal("0.01")) or value >= Decimal("1e10"):
        errors[name] = "Use at most 2 decimal places and less than 10,000,000,000."
        return None
    return value


def _positive_int(target: dict, name: str, errors: dict, *, required: bool = True, maximum: int = 10_000):
    if name not in target or target[name] in (None, ""):
        if required:
            errors[name] = "This field is required."
        return None
    value = target[name]
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        errors[name] = "Must be a whole number."
        return None
    value = int(value)
    if not 1 <= value <= maximum:
        errors[name] = f"Must be between 1 and {maximum}."
        return None
    return value


def challenge_target_validate(*, type: str, target) -> dict:
    """Validate and normalise a target for its type. Raises ValidationError({"target": {field: msg}})."""
    if type == Challenge.Type.GOAL:  # issue 18: a member sets their own (challenges/goals.py)
        raise ValidationError({"type": "Personal goals are set by members themselves."})
    if type not in Challenge.Type.values:
        raise ValidationError({"type": f"Must be one of {', '.join(Challenge.Type.values)}."})
    if not isinstance(target, dict):
        raise ValidationError({"target": "Must be an object."})
    errors: dict[str, str] = {}
    out: dict = {}
    if type == "fixed_amount":
        allowed = {"amount", "frequency"}
        amount = _positive_decimal(target, "amount", errors)
        frequency = target.get("frequency")
        if frequency not in scoring.FREQUENCY_UNITS:
            errors["frequency"] = "Must be one of daily, weekly, monthly."
        if not errors:
            out = {"amount": f"{amount:.2f}", "frequency": frequency}
    elif type == "percentage":
        allowed = {"increase", "baseline", "min_amount"}
        increase = _positive_decimal(target, "increase", errors)
        if increase is not None and increase > 1000:
            errors["increase"] = "Must be at most 1000 (%)."
        if target.get("baseline", "last_month") != "last_month":
            errors["baseline"] = "Only \"last_month\" is supported."
        min_amount = _positive_decimal(target, "min_amount", errors, required=False)
        if not errors:
            out = {"increase": str(increase), "baseline": "last_month"}
            if min_amount is not None:
                out["min_amount"] = f"{min_amount:.2f}"
    elif type == "streak":
        allowed = {"consecutive_weeks", "consecutive_days", "min_amount"}
        has_weeks, has_days = "consecutive_weeks" in target, "consecutive_days" in target
        if has_weeks == has_days:
            errors["consecutive_weeks"] = "Give exactly one of consecutive_weeks or consecutive_days."
        else:
            name = "consecutive_weeks" if has_weeks else "consecutive_days"
            count = _positive_int(target, name, errors, maximum=53 if has_weeks else 366)
            min_amount = _positive_decimal(target, "min_amount", errors, required=False)
            if not errors:
                out = {name: count}
                if min_amount is not None:
                    out["min_amount"] = f"{min_amount:.2f}"
    else:
        allowed = {"team_amount", "min_members"}
        team_amount = _positive_decimal(target, "team_amount", errors)
        min_members = _positive_int(target, "min_members", errors, maximum=1000)
        if not errors:
            out = {"team_amount": f"{team_amount:.2f}", "min_members": min_members}
    for unknown in sorted(set(target) - allowed):
        errors.setdefault(unknown, f"Unknown field for a {type} challenge.")
    if errors:
        raise ValidationError({"target": [f"{name}: {message}" for name, message in errors.items()]})
    return out


def _challenge_validate(challenge: Challenge) -> None:
    challenge.target = challenge_target_validate(type=challenge.type, target=challenge.target)
    if not 1 <= int(challenge.duration_days or 0) <= MAX_DURATION_DAYS:
        raise ValidationError({"duration_days": f"Must be between 1 and {MAX_DURATION_DAYS} days."})
    if not (challenge.name or "").strip():
        raise ValidationError({"name": "This field is required."})
    if challenge.type == "streak":
        needed = challenge.target.get("consecutive_weeks") or challenge.target.get("consecutive_days")
        end = challenge.start_date + timedelta(days=int(challenge.duration_days) - 1)
        if needed > scoring.total_periods(scoring.ChallengeSpec(challenge.type, challenge.target, challenge.start_date, end)):
            unit = "weeks" if "consecutive_weeks" in challenge.target else "days"
            raise ValidationError({"target": [f"consecutive_{unit}: The challenge is too short for {needed} {unit}."]})


def challenge_save_new(challenge: Challenge) -> Challenge:
    """Insert a new challenge, drawing another join code when the random one is taken (5 tries)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                challenge.save()
            return challenge
        except Exception:
            if Challenge.objects.filter(code=challenge.code).exists():
                challenge.code = Challenge._meta.get_field("code").default()
                continue
            raise
    raise RuntimeError("no free challenge code after 5 tries")


@transaction.atomic
def challenge_create(*, actor, name: str, type: str, target: dict, duration_days: int, start_date: date,
                     description: str = "", status: str = Challenge.Status.DRAFT) -> Challenge:
    if status not in (Challenge.Status.DRAFT, Challenge.Status.ACTIVE):
        raise ValidationError({"status": "A new challenge is either draft or active."})
    challenge = Challenge(name=(name or "").strip(), description=description or "", type=type, target=target,
                          duration_days=duration_days, start_date=start_date, status=status, created_by=actor)
    _challenge_validate(challenge)
    challenge.end_date = challenge.start_date + timedelta(days=challenge.duration_days - 1)
    if status == Challenge.Status.ACTIVE and challenge.end_date < local_today():
        raise ValidationError({"start_date": "This challenge would already be over; pick a later start date."})
    challenge_save_new(challenge)
    effects.audit(actor, "challenge.created", challenge, after={"name": challenge.name, "type": type, "status": status})
    readcache.challenges_forget()
    return challenge


TRANSITIONS = {
    "draft": {"active", "cancelled"},
    "active": {"cancelled", "completed"},
    "completed": set(),
    "cancelled": set(),
}


@transaction.atomic
def challenge_update(*, challenge: Challenge, actor, data: dict) -> Challenge:
    """Edit a challenge. Type, target, dates and duration change only while it is a draft.
    `status` moves it along draft -> active -> completed / cancelled (PATCH {"status": "active"} publishes)."""
    challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
    before = {"status": challenge.status, "name": challenge.name}
    structural = {"type", "target", "duration_days", "start_date"} & set(data)
    if structural and challenge.status != Challenge.Status.DRAFT:
        changed = [f for f in structural if data[f] != getattr(challenge, f)]
        if changed:
            raise ValidationError({changed[0]: "Only a draft challenge's type, target or dates can change."})
    for field in CHALLENGE_EDITABLE_FIELDS:
        if field in data:
            setattr(challenge, field, data[field])
    if structural:
        _challenge_validate(challenge)
    challenge.end_date = challenge.start_date + timedelta(days=challenge.duration_days - 1)
    new_status = data.get("status", challenge.status)
    if new_status != challenge.status:
        if new_status not in TRANSITIONS.get(challenge.status, set()):
            raise ValidationError({"status": f"A {challenge.status} challenge cannot become {new_status}."})
        if new_status == Challenge.Status.ACTIVE and challenge.end_date < local_today():
            raise ValidationError({"start_date": "This challenge would already be over; pick a later start date."})
        if new_status == Challenge.Status.COMPLETED:
            challenge.save()
            challenge_settle(challenge=challenge, force=True)
            challenge.refresh_from_db()
        if new_status == Challenge.Status.CANCELLED:  # kept for challenge_restore (undo)
            challenge.cancelled_at, challenge.cancelled_from = timezone.now(), challenge.status
        challenge.status = new_status
    challenge.full_clean(exclude=["code", "target"])
    challenge.save()
    effects.audit(actor, "challenge.updated", challenge, before=before, after={"status": challenge.status, "name": challenge.name})
    from challenges.selectors import challenge_status_forget

    challenge_status_forget(challenge_id=challenge.pk)
    readcache.challenges_forget()
    return challenge


RESTORE_HOURS = 24  # a cancelled challenge can be restored for this long (issue 16 item 12)


def challenge_restore_refusal(challenge: Challenge, *, now=None) -> str:
    """Why this cancelled challenge cannot be restored now, or "" when it can: cancelled less than
    RESTORE_HOURS ago, never settled, not over, and no payment since for it or from its members (those
    were scored without it, so bringing it back would leave them out)."""
    from challenges import ledger
    from challenges.models import Participant

    now = now or timezone.now()
    if challenge.status != Challenge.Status.CANCELLED or challenge.cancelled_at is None:
        return _("Only a cancelled challenge can be restored.")
    if now - challenge.cancelled_at > timedelta(hours=RESTORE_HOURS):
        return _("It was cancelled more than %(hours)d hours ago.") % {"hours": RESTORE_HOURS}
    if challenge.settled_at is not None:
        return _("It has been settled.")
    if challenge.cancelled_from == Challenge.Status.ACTIVE and challenge.end_date < local_today():
        return _("It is over.")
    members = list(Participant.objects.filter(challenge=challenge).values_list("user_id", flat=True))
    if ledger.reader().payments_since(challenge_id=challenge.pk, user_ids=members, since=challenge.cancelled_at):
        return _("Payments from its members arrived since it was cancelled.")
    return ""


@transaction.atomic
def challenge_restore(*, challenge: Challenge, actor) -> Challenge:
    """Undo a cancel: the challenge goes back to what it was (active or draft), audited."""
    challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
    refusal = challenge_restore_refusal(challenge)
    if refusal:
        raise ValidationError({"status": _("This challenge cannot be restored: %(reason)s") % {"reason": refusal}})
    before = {"status": challenge.status, "name": challenge.name}
    challenge.status = challenge.cancelled_from or Challenge.Status.DRAFT
    challenge.cancelled_at, challenge.cancelled_from = None, ""
    challenge.save(update_fields=["status", "cancelled_at", "cancelled_from", "updated_at"])
    effects.audit(actor, "challenge.restored", challenge, before=before, after={"status": challenge.status,
                                                                                "name": challenge.name})
    from challenges.selectors import challenge_status_forget

    challenge_status_forget(challenge_id=challenge.pk)
    readcache.challenges_forget()
    return challenge


@transaction.atomic
def challenge_delete(*, challenge: Challenge, actor) -> None:
    if challenge.status != Challenge.Status.DRAFT:
        raise ValidationError({"status": "Only a draft can be deleted; cancel an active challenge instead."})
    effects.audit(actor, "challenge.deleted", challenge, before={"name": challenge.name})
    challenge.delete()
    readcache.challenges_forget()

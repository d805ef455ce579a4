"""What analytics reads from the other apps, in one place.

Each function here is a small seam: when the gamification participant model lands (settings
ANALYTICS_PARTICIPANT_MODEL) the outcome and participation reads switch to it without touching
the metrics.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

# A ledger row's created_at is never much earlier than its TransTime; this margin lets the
# (status, created_at) index narrow a scan by effective time.
CREATED_AT_MARGIN = timedelta(days=1)
VERIFIED = "verified"


# --- time -------------------------------------------------------------------------------------
def org_timezone() -> ZoneInfo:
    """The current organization's time zone (days and weeks are counted in it)."""
    tenant = getattr(connection, "tenant", None)
    name = getattr(tenant, "time_zone", None)
    if not name:
        from tenants.models import Organization

        name = (
            Organization.objects.filter(schema_name=connection.schema_name).values_list("time_zone", flat=True).first()
        )
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except Exception:  # a bad zone name in the org row must not break analytics
        return ZoneInfo(settings.TIME_ZONE)


def local_today(tz: ZoneInfo) -> date:
    return datetime.now(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def week_start(day: date) -> date:
    """Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


# --- ledger (payments) ------------------------------------------------------------------------
def ledger_verified(*, first: date, last: date, tz: ZoneInfo, challenge_id: int | None = None) -> QuerySet:
    """Verified ledger rows whose effective time (TransTime, else created_at) falls on the local
    days first..last, annotated with `at` and `day`."""
    from payments.models import Transaction

    start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
    qs = (
        Transaction.objects.filter(status=VERIFIED, created_at__gte=start - CREATED_AT_MARGIN)
        .annotate(at=Coalesce("transacted_at", "created_at"))
        .filter(at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
    )
    if challenge_id is not None:
        qs = qs.filter(challenge_id=challenge_id)
    return qs.order_by()


def ledger_first_day(*, tz: ZoneInfo) -> date | None:
    from payments.models import Transaction

    first = (
        Transaction.objects.filter(status=VERIFIED)
        .annotate(at=Coalesce("transacted_at", "created_at"))
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return first.astimezone(tz).date() if first else None


def ledger_user_challenge_totals(*, challenge_ids: list[int]) -> dict[tuple[int, int], Decimal]:
    from payments.models import Transaction

    rows = (
        Transaction.objects.filter(status=VERIFIED, challenge_id__in=challenge_ids, user__isnull=False)
        .values("user_id", "challenge_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {(r["user_id"], r["challenge_id"]): r["total"] for r in rows}


def ledger_for_member(*, user_id: int, first: date, last: date, tz: ZoneInfo) -> QuerySet:
    return ledger_verified(first=first, last=last, tz=tz).filter(user_id=user_id).select_related("challenge").order_by("at", "id")


# --- members (accounts) -----------------------------------------------------------------------
def members() -> QuerySet:
    from accounts.models import User

    return User.objects.filter(role=User.Role.MEMBER, is_active=True)


def member_first_day(*, tz: ZoneInfo) -> date | None:
    first = members().order_by("date_joined").values_list("date_joined", flat=True).first()
    return first.astimezone(tz).date() if first else None


# --- challenges and participants (gamification) -----------------------------------------------
def challenges() -> QuerySet:
    from challenges.models import Challenge

    return Challenge.objects.all()


def participant_model():
    """The gamification participant model if it is installed with the fields we need, else None."""
    try:
        model = apps.get_model(settings.ANALYTICS_PARTICIPANT_MODEL)
    except (LookupError, ValueError):
        return None
    names = {f.name for f in model._meta.get_fields()}
    return model if {"user", "challenge", "status"} <= names else None


def fixed_amount_goal(challenge) -> Decimal | None:
    """Total a member must save to complete a fixed_amount challenge (amount x periods), or None
    when the goal is not derivable from the ledger alone (the other types)."""
    if challenge.type != "fixed_amount":
        return None
    target = challenge.target or {}
    try:
        amount = Decimal(str(target.get("amount")))
    except Exception:
        return None
    days = challenge.duration_days
    periods = {"daily": days, "weekly": math.ceil(days / 7), "monthly": math.ceil(days / 30)}.get(
        target.get("frequency", "daily"), days
    )
    return amount * periods


def participant_outcomes(*, challenge_id: int | None, today: date) -> dict[str, int]:
    """Counts of participants by outcome: participants, active, completed, failed.

    With the gamification participant model, its status is the truth. Without it, participants
    are members who saved into a challenge or joined one (challenge_joined events), and the
    outcome of an ended fixed_amount challenge is derived from the ledger (saved >= amount x
    periods); other types stay out of the rates until the participant model lands.
    """
    counts = {"participants": 0, "active": 0, "completed": 0, "failed": 0}
    model = participant_model()
    if model is not None:
        qs = model.objects.exclude(challenge__status="cancelled")
        if challenge_id is not None:
            qs = qs.filter(challenge_id=challenge_id)
        for row in qs.values("status").annotate(n=Count("id")).order_by():
            counts["participants"] += row["n"]
            if row["status"] in counts:
                counts[row["status"]] += row["n"]
        return counts

    from analytics.models import Event

    chosen = challenges().exclude(status__in=["draft", "cancelled"])
    if challenge_id is not None:
        chosen = chosen.filter(pk=challenge_id)
    by_id = {c.pk: c for c in chosen}
    if not by_id:
        return counts
    totals = ledger_user_challenge_totals(challenge_ids=list(by_id))
    joined = (
        Event.objects.filter(type="challenge_joined", user__isnull=False)
        .values_list("user_id", "properties__challenge_id")
        .distinct()
    )
    pairs = dict(totals)
    for user_id, raw_challenge in joined:
        try:
            key = (user_id, int(raw_challenge))
        except (TypeError, ValueError):
            continue
        if key[1] in by_id:
            pairs.setdefault(key, Decimal("0"))
    for (_user_id, cid), saved in pairs.items():
        challenge = by_id[cid]
        counts["participants"] += 1
        ended = challenge.status == "completed" or challenge.end_date < today
        if not ended:
            counts["active"] += 1
            continue
        goal = fixed_amount_goal(challenge)
        if goal is None:
            continue
        counts["completed" if saved >= goal else "failed"] += 1
    return counts


def participant_user_id_parts(*, challenge_id: int | None, live_first: date, today: date, tz: ZoneInfo) -> list:
    """Queries of user ids taking part in challenges (to be unioned): the participant model's
    rows, or, without it, challenge savers (rolled and live) and challenge_joined events."""
    from analytics.models import Event, SaverDay

    model = participant_model()
    if model is not None:
        qs = model.objects.exclude(challenge__status="cancelled")
        if challenge_id is not None:
            qs = qs.filter(challenge_id=challenge_id)
        return [qs.values_list("user_id")]
    saved = SaverDay.objects.filter(challenge__isnull=False)
    joins = Event.objects.filter(type="challenge_joined", user__isnull=False)
    live = ledger_verified(first=live_first, last=today, tz=tz, challenge_id=challenge_id).filter(
        challenge__isnull=False, user__isnull=False, amount__gt=0
    )
    if challenge_id is not None:
        saved = saved.filter(challenge_id=challenge_id)
        joins = joins.filter(properties__challenge_id=challenge_id)
    return [saved.values_list("user_id"), joins.values_list("user_id"), live.values_list("user_id")]


def positive() -> Q:
    return Q(amount__gt=0)

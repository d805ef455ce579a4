"""Reads for the member home page, computed straight from the ledger and challenges.

Stand-in until the gamification and payments selectors land on the same branch: when they do,
swap `member_home_summary` internals for `challenges.selectors` (participants, points, rank,
streaks) and `payments.selectors` (totals). The template only needs the dict shape below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

ZERO = Decimal("0.00")


@dataclass
class ChallengeProgress:
    id: int
    name: str
    type: str
    type_label: str
    end_date: date
    saved: Decimal
    target: Decimal | None
    percent: int  # 0..100 for bars and rings

    @property
    def done(self) -> bool:
        return self.percent >= 100


def challenge_target_amount(challenge) -> Decimal | None:
    """What one member must save to finish `challenge`, where the type says (else None)."""
    target = challenge.target or {}
    try:
        if challenge.type == "fixed_amount":
            per_period = Decimal(str(target["amount"]))
            period_days = {"daily": 1, "weekly": 7, "monthly": 30}.get(target.get("frequency", "weekly"), 7)
            return per_period * math.ceil(challenge.duration_days / period_days)
        if challenge.type == "percentage" and target.get("min_amount"):
            return Decimal(str(target["min_amount"]))
        if challenge.type == "group":
            return Decimal(str(target["team_amount"]))
    except (KeyError, ValueError, ArithmeticError, TypeError):
        return None
    return None


def _percent(saved: Decimal, target: Decimal | None) -> int:
    if not target or target <= 0:
        return 0
    return max(0, min(100, int(saved * 100 / target)))


def weekly_streak(*, deposit_dates: list[date], today: date) -> int:
    """Consecutive ISO weeks with a deposit, ending this week (or last week: this one is not over)."""
    weeks = {d.isocalendar()[:2] for d in deposit_dates}
    monday = today - timedelta(days=today.weekday())
    if monday.isocalendar()[:2] not in weeks:
        monday -= timedelta(days=7)
    streak = 0
    while monday.isocalendar()[:2] in weeks:
        streak += 1
        monday -= timedelta(days=7)
    return streak


def member_paybill(*, user) -> dict | None:
    """How this member pays by Paybill: the business number and their own account number.

    Reads payments' settings row directly (read-only) until payments offers a selector for it.
    """
    from payments.models import MpesaSettings

    row = MpesaSettings.objects.only("shortcode", "shortcode_type").first()
    if row is None or not row.shortcode or row.shortcode_type != MpesaSettings.ShortcodeType.PAYBILL:
        return None
    return {"shortcode": row.shortcode, "account": user.account_code}


def member_home_summary(*, user, organization) -> dict:
    from accounts.models import User
    from challenges.models import Challenge
    from payments.models import Transaction

    verified = Transaction.objects.filter(user=user, status=Transaction.Status.VERIFIED)
    total_saved = verified.aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]

    by_challenge = dict(
        verified.exclude(challenge=None).values("challenge").annotate(s=Sum("amount")).values_list("challenge", "s")
    )
    active = []
    for challenge in Challenge.objects.filter(status=Challenge.Status.ACTIVE).order_by("end_date")[:10]:
        saved = by_challenge.get(challenge.id, ZERO)
        if challenge.type == "group":
            saved = challenge.total_saved
        target = challenge_target_amount(challenge)
        active.append(ChallengeProgress(
            id=challenge.id, name=challenge.name, type=challenge.type, type_label=challenge.get_type_display(),
            end_date=challenge.end_date, saved=saved, target=target, percent=_percent(saved, target),
        ))

    tz = ZoneInfo(organization.time_zone or "Africa/Nairobi")
    when = [t.astimezone(tz).date() for t in verified.values_list("transacted_at", flat=True) if t]
    streak = weekly_streak(deposit_dates=when, today=timezone.now().astimezone(tz).date())

    points = int(total_saved * Decimal(str(organization.scoring_rule("points_per_kes"))))
    rank = None
    savers = 0
    if total_saved > 0:
        totals = User.objects.annotate(
            saved=Coalesce(
                Sum("transactions__amount", filter=Q(transactions__status=Transaction.Status.VERIFIED)), ZERO
            )
        ).filter(saved__gt=0)
        agg = totals.aggregate(savers=Count("id"), ahead=Count("id", filter=Q(saved__gt=total_saved)))
        savers, rank = agg["savers"], agg["ahead"] + 1
    return {
        "paybill": member_paybill(user=user),
        "total_saved": total_saved,
        "deposits": len(when),
        "active_challenges": active,
        "streak_weeks": streak,
        "points": points,
        "rank": rank,
        "savers": savers,
    }


def organization_activity(*, organizations) -> dict[int, dict]:
    """Members and last verified deposit per organization, in one query across their schemas.

    For the platform console (public host): `{org.id: {"members": int, "last_deposit": datetime | None}}`.
    """
    from django.db import connection
    from django_tenants.utils import get_public_schema_name
    from psycopg import sql

    orgs = [o for o in organizations if o.schema_name != get_public_schema_name()]
    if not orgs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'payments_transaction' "
            "AND table_schema = ANY(%s)", [[o.schema_name for o in orgs]],
        )
        ready = {row[0] for row in cursor.fetchall()}
        parts = [
            sql.SQL(
                "SELECT {id}::bigint, (SELECT count(*) FROM {s}.accounts_user WHERE role IN ('member', 'org_admin')), "
                "(SELECT max(verified_at) FROM {s}.payments_transaction WHERE status = 'verified')"
            ).format(id=sql.Literal(o.id), s=sql.Identifier(o.schema_name))
            for o in orgs if o.schema_name in ready
        ]
        if not parts:
            return {}
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.connection))
        return {row[0]: {"members": row[1], "last_deposit": row[2]} for row in cursor.fetchall()}

"""Reads for the member home page, composed from the owning capabilities' selectors:
payments (`member_savings`, `member_paybill`) and gamification (`member_points`,
`member_active_challenges`). The template only needs the dict shape of `member_home_summary`.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone


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
    """How this member pays by Paybill (payments' selector)."""
    from payments.selectors import member_paybill as paybill

    return paybill(user=user)


def main_challenge(challenges: list[dict]) -> dict | None:
    """The challenge the home rank tile speaks of: the one most of the group plays (a rank of "#1 of 1"
    in a challenge just joined says nothing), then the better rank, then the one that started first.
    The same member gets the same tile from one visit to the next."""
    if not challenges:
        return None
    return min(challenges, key=lambda c: (-c["participants"], c["rank"], c["start_date"], c["id"]))


def member_home_summary(*, user, organization) -> dict:
    """Savings from the ledger; points (bonuses included), ranks and streaks from gamification,
    for the active challenges this member joined only."""
    from challenges.selectors import member_active_challenges, member_points
    from payments.selectors import member_savings

    savings = member_savings(user=user)
    tz = ZoneInfo(organization.time_zone or "Africa/Nairobi")
    when = [t.astimezone(tz).date() for t in savings["deposit_times"]]
    joined = member_active_challenges(member=user)
    # Still to play for on top; a challenge already failed or completed for this member is not "active".
    challenges = [c for c in joined if c["standing"] not in ("failed", "completed")]
    ranked = [c for c in challenges if c["rank"] and c["standing"] != "upcoming"]
    best = main_challenge(ranked)
    return {
        "paybill": member_paybill(user=user),
        "total_saved": savings["total_saved"],
        "deposits": savings["deposits"],
        "active_challenges": challenges,
        "finished_challenges": [c for c in joined if c["standing"] in ("failed", "completed")],
        "streak_weeks": weekly_streak(deposit_dates=when, today=timezone.now().astimezone(tz).date()),
        "streaks": [c for c in challenges if c["streak"]],
        "points": member_points(member=user),
        "rank": best["rank"] if best else None,
        "savers": best["participants"] if best else 0,
        "rank_challenge": best["name"] if best else "",
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

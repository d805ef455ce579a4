"""Reads for the member home page, composed from the owning capabilities' selectors:
payments (`member_savings`, `member_paybill`) and gamification (`member_points`,
`member_active_challenges`). The template only needs the dict shape of `member_home_summary`.
"""

from __future__ import annotations

from datetime import date, timedelta

from tenants.calendar import local_today, organization_zone


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


def member_home_summary(*, user, organization) -> dict:
    """Savings from the ledger; points (bonuses included), ranks and streaks from gamification,
    for the active challenges this member joined only."""
    from challenges.selectors import member_active_challenges, member_points
    from payments.selectors import member_savings

    savings = member_savings(user=user)
    tz = organization_zone(organization)
    when = [t.astimezone(tz).date() for t in savings["deposit_times"]]
    challenges = member_active_challenges(member=user)
    ranked = [c for c in challenges if c["rank"]]
    best = min(ranked, key=lambda c: (c["rank"], c["end_date"])) if ranked else None
    return {
        "paybill": member_paybill(user=user),
        "total_saved": savings["total_saved"],
        "deposits": savings["deposits"],
        "active_challenges": challenges,
        "streak_weeks": weekly_streak(deposit_dates=when, today=local_today(tz)),
        "streaks": [c for c in challenges if c["streak"]],
        "points": member_points(member=user),
        "rank": best["rank"] if best else None,
        "savers": best["participants"] if best else 0,
        "rank_challenge": best["name"] if best else "",
    }

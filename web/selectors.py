"""Reads for the member home page, composed from the owning capabilities' selectors:
payments (`member_savings`, `member_paybill`) and gamification (`member_points`,
`member_active_challenges`). The template only needs the dict shape of `member_home_summary`.
"""

from __future__ import annotations


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
    from challenges.selectors import member_active_challenges, member_points, member_weekly_streak
    from payments.selectors import member_savings

    savings = member_savings(user=user)
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
        "streak_weeks": member_weekly_streak(member=user, active=challenges),  # the game's one weekly streak
        "streaks": [c for c in challenges if c["streak"]],
        "points": member_points(member=user),
        "rank": best["rank"] if best else None,
        "savers": best["participants"] if best else 0,
        "rank_challenge": best["name"] if best else "",
    }


def member_home_tiles(*, user, organization) -> dict:
    """The home page's live tiles (savings, streak, points, rank), as numbers and as the page shows
    them, from `member_home_summary` (so the tiles never disagree with the page). Read by the `live`
    process for the member's notification stream (`LIVE_TILES`) and by `GET /api/v1/home/tiles`
    (the page's polling fallback)."""
    from django.utils.translation import gettext, ngettext

    from web.templatetags.formatting import money, points

    summary = member_home_summary(user=user, organization=organization)
    rank = summary["rank"]
    weeks = summary["streak_weeks"]
    return {
        "total_saved": f"{summary['total_saved']:.2f}", "total_saved_display": str(money(summary["total_saved"])),
        "deposits": summary["deposits"],
        "streak_weeks": weeks, "streak_label": ngettext("week streak", "weeks streak", weeks),
        "points": summary["points"], "points_display": str(points(summary["points"])),
        "rank": rank, "rank_display": f"#{rank}" if rank else "–", "savers": summary["savers"],
        "rank_label": (gettext("of %(n)s in %(challenge)s") % {"n": summary["savers"],
                                                              "challenge": summary["rank_challenge"]}
                       if rank else gettext("rank: join a challenge to get one")),
    }


# The leaders' members page (issue 16 item 18): who is in the group, with each owner's figures.
MEMBER_SHOWS = ("not_saved_this_month", "saved_this_month", "on_streak", "removed")
MEMBER_SORTS = ("name", "-saved", "saved", "-last_deposit", "last_deposit", "-streak", "streak")


def _local(moment, zone):
    return moment.astimezone(zone) if moment is not None else None


def members_with_money(*, search: str = "", show: str = "", sort: str = "") -> list[dict]:
    """The members a leader asked for (search, `show` one of MEMBER_SHOWS), each with the saved total,
    this month's savings and the last deposit (payments' members_money) and the current weekly streak
    (the game's members_weekly_streaks: the number the member's own home shows), sorted by `sort`
    (MEMBER_SORTS; name by default). Four queries whatever the group's size."""
    from datetime import datetime
    from datetime import timezone as dt_timezone
    from decimal import Decimal

    from accounts.selectors import member_list
    from challenges.selectors import members_weekly_streaks
    from payments.selectors import members_money
    from tenants.calendar import day_start, local_today, organization_zone

    people = list(member_list(search=search, removed=show == "removed"))
    ids = [p.pk for p in people]
    zone = organization_zone()
    month_start = day_start(local_today(zone).replace(day=1), zone)
    money = members_money(user_ids=ids, since=month_start) if ids else {}
    streaks = members_weekly_streaks(user_ids=ids) if ids else {}
    zero = Decimal("0.00")
    rows = [{"member": p, "total_saved": money.get(p.pk, {}).get("total_saved", zero),
             "saved_this_month": money.get(p.pk, {}).get("saved_since", zero),
             "last_deposit_at": _local(money.get(p.pk, {}).get("last_deposit_at"), zone), "streak": streaks.get(p.pk, 0)}
            for p in people]
    if show == "not_saved_this_month":
        rows = [r for r in rows if r["saved_this_month"] <= 0]
    elif show == "saved_this_month":
        rows = [r for r in rows if r["saved_this_month"] > 0]
    elif show == "on_streak":
        rows = [r for r in rows if r["streak"] > 0]
    key = (sort or "name").lstrip("-")
    if key != "name":
        never = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)  # no deposit yet: before every real one
        field = {"saved": "total_saved", "last_deposit": "last_deposit_at", "streak": "streak"}[key]
        rows.sort(key=lambda r: (r[field] if r[field] is not None else never), reverse=sort.startswith("-"))
    return rows

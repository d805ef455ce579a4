"""Reads for the feature-phone channel. Every number a member sees comes from its owner's selector
(payments' ledger totals, challenges' points and live ranks); this module only picks and orders."""

from __future__ import annotations

from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.selectors import member_by_phone
from challenges.selectors import (
    challenge_list_for,
    joined_challenge_ids,
    member_active_challenges,
    member_points,
)
from challenges.services import local_today, organization_zone
from payments.selectors import member_savings, mpesa_ready, transaction_list

JOIN_CHOICES = 4  # + "0. Back" = 5 options
SAVE_CHOICES = 3  # + "All my challenges" + "0. Back" = 5 options
RANK_ROWS = 3
DEPOSIT_ROWS = 5

__all__ = ["member_by_phone", "mpesa_ready", "member_summary", "member_ranks", "joinable_challenges",
           "saving_challenges", "recent_deposits"]


def member_summary(*, member) -> dict:
    """Saved total and deposit count (the verified ledger) and all points earned."""
    from challenges.goals import member_goals

    savings = member_savings(user=member)
    running = member_goals(member=member, include_ended=False)  # issue 18: the first goal's progress
    goal = ({"name": running[0]["name"], "percent": running[0]["percent"]}
            if running and running[0]["status"] != "completed" else None)
    return {"total_saved": savings["total_saved"], "deposits": savings["deposits"],
            "points": member_points(member=member), "goal": goal}


def member_ranks(*, member, limit: int = RANK_ROWS) -> list[dict]:
    """The member's active challenges with their live rank (challenges.selectors.member_active_challenges)."""
    return member_active_challenges(member=member, limit=limit)


def joinable_challenges(*, member, limit: int = JOIN_CHOICES) -> list[tuple[int, str]]:
    """Active challenges still running that the member has not joined: (id, name), soonest ending first."""
    joined = joined_challenge_ids(user=member)
    rows = (challenge_list_for(user=member).filter(status="active", end_date__gte=local_today())
            .exclude(pk__in=joined).order_by("end_date", "pk").values_list("pk", "name")[:limit])
    return list(rows)


def saving_challenges(*, member, limit: int = SAVE_CHOICES) -> list[tuple[int, str]]:
    """The active challenges the member joined, a deposit can be tagged with: (id, name)."""
    return [(row["id"], row["name"]) for row in member_active_challenges(member=member, limit=limit)]


def recent_deposits(*, member, limit: int = DEPOSIT_ROWS) -> list[tuple[str, object]]:
    """The member's last verified deposits as (day "04 Dec" in the organization's zone and the active
    language, amount), newest first."""
    zone = organization_zone()
    rows = transaction_list(user=member, filters={"status": "verified"}).filter(amount__gt=0)[:limit]
    return [(date_format(timezone.localtime(tx.transacted_at or tx.created_at, zone), "d M"), tx.amount) for tx in rows]


def reply_for_message(*, provider_id: str) -> str | None:
    """The reply queued for an incoming SMS (by its provider id), for the local stand-in."""
    from notifications.selectors import notification_list
    from ussd.models import InboundSms
    from ussd.services import REPLY_TEMPLATE, sms_reply_key

    inbound = InboundSms.objects.select_related("user").filter(provider_id=provider_id).first()
    if inbound is None or inbound.user is None:
        return None
    prefix = f"{REPLY_TEMPLATE}:{sms_reply_key(provider_id=provider_id)}:"
    return notification_list(user=inbound.user).filter(idempotency_key__startswith=prefix).values_list(
        "message", flat=True).first()

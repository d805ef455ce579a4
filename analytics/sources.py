"""What analytics reads from the other apps, in one place: the ledger (payments.selectors), the
organization's calendar (tenants.calendar), members, and challenges and their participations (the
game's own reads, challenges.selectors), so the metrics never reach into another app's rules.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.db.models.functions import TruncDate

from payments import selectors as payments_selectors
from tenants import calendar

# A ledger row's created_at is never much earlier than the time it counts at; this margin lets
# the (status, created_at) index narrow a scan by that time.
CREATED_AT_MARGIN = timedelta(days=1)
# Money that reached the ledger, and the time a row counts at, are payments' facts
# (payments.selectors: SAVED_STATUSES, deposit_counted_at). A reversal is its own verified row with
# a negative amount on the day it happened, so the original keeps its day and the two net out
# (rolled days never need rewriting for a reversal).
SAVED_STATUSES = payments_selectors.SAVED_STATUSES


# --- time (the organization's calendar: tenants.calendar) --------------------------------------
def org_timezone() -> ZoneInfo:
    """The current organization's time zone (days and weeks are counted in it)."""
    return calendar.organization_zone()


def local_today(tz: ZoneInfo) -> date:
    return calendar.local_today(tz)


day_start = calendar.day_start
week_start = calendar.week_start


# --- ledger (payments) ------------------------------------------------------------------------
def ledger_verified(*, first: date, last: date, tz: ZoneInfo, challenge_id: int | None = None) -> QuerySet:
    """Ledger rows that move the saved total whose counted time falls on the local days
    first..last, annotated with `at` and `day`."""
    start, end = calendar.day_bounds(first, last, tz)
    qs = (
        payments_selectors.ledger_saved().filter(created_at__gte=start - CREATED_AT_MARGIN)
        .annotate(at=payments_selectors.deposit_counted_at())
        .filter(at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
    )
    if challenge_id is not None:
        qs = qs.filter(challenge_id=challenge_id)
    return qs.order_by()


def ledger_first_day(*, tz: ZoneInfo) -> date | None:
    first = (
        payments_selectors.ledger_saved()
        .annotate(at=payments_selectors.deposit_counted_at())
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return first.astimezone(tz).date() if first else None


def ledger_days_changed_since(*, since: datetime, tz: ZoneInfo) -> set[date]:
    """Local days of ledger rows changed since `since` (e.g. an unmatched payment assigned to a
    member, a late callback): the days whose rollups are out of date."""
    from payments.models import Transaction

    return set(
        Transaction.objects.filter(updated_at__gte=since)
        .annotate(day=TruncDate(payments_selectors.deposit_counted_at(), tzinfo=tz))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )


def ledger_for_member(*, user_id: int, first: date, last: date, tz: ZoneInfo) -> QuerySet:
    return (
        ledger_verified(first=first, last=last, tz=tz)
        .filter(user_id=user_id)
        .select_related("challenge")
        .order_by("at", "id")
    )


# --- members (accounts) -----------------------------------------------------------------------
def members() -> QuerySet:
    """Active members (leaders aside): accounts' one member list."""
    from accounts.models import User
    from accounts.selectors import member_list

    return member_list(role=User.Role.MEMBER).order_by()


def people() -> QuerySet:
    """Everyone in the group, leaders too, by name (accounts' member list, as the members page lists them)."""
    from accounts.selectors import member_list

    return member_list()


def member_count() -> int:
    """The overview's "Members": the same count the leaders' members page shows (accounts.selectors.member_counts)."""
    from accounts.selectors import member_counts

    return member_counts()["members"]


def member_first_day(*, tz: ZoneInfo) -> date | None:
    first = members().order_by("date_joined").values_list("date_joined", flat=True).first()
    return first.astimezone(tz).date() if first else None


# --- challenges and participations (the game) --------------------------------------------------
def challenges() -> QuerySet:
    from challenges.models import Challenge

    return Challenge.objects.exclude(type="goal")  # issue 18: members' own goals are counted in goal uptake


def participation(*, challenge_id: int | None) -> tuple[int, dict[str, int]]:
    """(distinct members taking part, participations by outcome: participants, active, completed,
    failed), as the game records them (challenges.selectors.participation_outcomes)."""
    from challenges.selectors import participation_outcomes

    row = participation_outcomes(challenge_id=challenge_id)
    return row.pop("members"), row


def positive() -> Q:
    return Q(amount__gt=0)


# --- the first admin's set-up checklist (issue 16 item 21): each item's state from its owner ---------
def setup_state(*, organization, members: int | None = None) -> dict[str, bool]:
    """Branding (tenants: a logo or the brand colours changed), M-Pesa ready for Save now and a test
    payment received (payments), a challenge published (the game), a member added (accounts)."""
    from tenants.models import default_branding

    defaults = default_branding()
    branding = organization.branding or {}
    return {
        "branding": bool(organization.logo) or any(
            (branding.get(key) or defaults[key]).lower() != defaults[key] for key in ("primary_color", "accent_color")),
        "mpesa": payments_selectors.mpesa_ready(),
        "challenge": challenges().exclude(status="draft").exists(),
        "members": (member_count() if members is None else members) > 0,
        "test_payment": payments_selectors.mpesa_payment_received(),
    }

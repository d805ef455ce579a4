"""Writes for analytics: the daily rollups and the platform summary (product events: analytics/events.py)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from analytics import selectors, sources
from analytics.models import DailyRollup, SaverDay, SaverSummary


def rollup_days(*, first: date, last: date, refresh_summary: bool = True) -> int:
    """(Re)write the rollups of local days first..last in the current schema, in one
    transaction: each day's rows are replaced, so re-running a day is harmless. Days from today
    on are live-only and never rolled. Returns the number of days written."""
    tz = sources.org_timezone()
    last = min(last, sources.local_today(tz) - timedelta(days=1))
    if last < first:
        return 0
    figures = selectors.day_figures(first=first, last=last, tz=tz)
    now = timezone.now()
    with transaction.atomic():
        DailyRollup.objects.filter(day__range=(first, last)).delete()
        SaverDay.objects.filter(day__range=(first, last)).delete()
        DailyRollup.objects.bulk_create(
            [
                DailyRollup(day=day, challenge_id=cid, computed_at=now, **row)
                for (day, cid), row in figures.days.items()
            ],
            batch_size=2000,
        )
        SaverDay.objects.bulk_create([SaverDay(**row) for row in figures.saver_days], batch_size=5000)
        if refresh_summary:
            saver_summary_refresh()
    return (last - first).days + 1


def saver_summary_refresh() -> None:
    """Rebuild SaverSummary from SaverDay up to the watermark."""
    watermark = selectors.rollup_watermark()
    summary, saver_day = SaverSummary._meta.db_table, SaverDay._meta.db_table
    columns = "(user_id, challenge_id, first_day, last_day, deposits_count)"
    first_last = ("min(day) FILTER (WHERE deposits_count > 0), max(day) FILTER (WHERE deposits_count > 0), "
                  "sum(deposits_count)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {summary}")
        if watermark is None:
            return
        cursor.execute(
            f"INSERT INTO {summary} {columns} SELECT user_id, challenge_id, {first_last} "
            f"FROM {saver_day} WHERE challenge_id IS NOT NULL GROUP BY user_id, challenge_id"
        )
        cursor.execute(
            f"INSERT INTO {summary} {columns} SELECT user_id, NULL, {first_last} FROM {saver_day} GROUP BY user_id"
        )
        # Fresh statistics: the table was just rewritten and the overview plans on it.
        cursor.execute(f"ANALYZE {summary}")


def rollup_first_day() -> date | None:
    """The earliest day with anything to roll up (a member joining or a deposit)."""
    tz = sources.org_timezone()
    days = [d for d in (sources.ledger_first_day(tz=tz), sources.member_first_day(tz=tz)) if d]
    return min(days) if days else None


def rollup_backfill(*, first: date | None = None, last: date | None = None, chunk_days: int = 31) -> int:
    """Roll a range of days (default: from the first activity to yesterday), in chunks.

    Rollups must cover every day up to the watermark, so when none exist before `first` the
    range is extended back to the first activity.
    """
    tz = sources.org_timezone()
    yesterday = sources.local_today(tz) - timedelta(days=1)
    origin = rollup_first_day()
    last = min(last or yesterday, yesterday)
    if origin is None:
        origin = last
    if first is None or (
        first > origin and not DailyRollup.objects.filter(challenge__isnull=True, day__lt=first).exists()
    ):
        first = min(first or origin, origin)
    written, start = 0, first
    while start <= last:
        end = min(start + timedelta(days=chunk_days - 1), last)
        written += rollup_days(first=start, last=end, refresh_summary=False)
        start = end + timedelta(days=1)
    saver_summary_refresh()
    return written


def rollup_nightly() -> int:
    """The beat job for one tenant: roll every day since the watermark, re-roll the last few
    days (late ledger rows), then publish the summary to the platform table."""
    tz = sources.org_timezone()
    yesterday = sources.local_today(tz) - timedelta(days=1)
    watermark = selectors.rollup_watermark()
    if watermark is None:
        written = rollup_backfill()
    else:
        last_run = DailyRollup.objects.aggregate(last=Max("computed_at"))["last"]
        first = min(watermark + timedelta(days=1), yesterday - timedelta(days=settings.ANALYTICS_REROLL_DAYS - 1))
        # Older days whose ledger rows changed since the last run are rolled again too.
        stale = sorted(d for d in sources.ledger_days_changed_since(since=last_run, tz=tz) if d < first)
        written = 0
        for day in stale:
            written += rollup_days(first=day, last=day, refresh_summary=False)
        written += rollup_backfill(first=first, last=yesterday)
    organization_stats_publish()
    return written


def organization_stats_compute() -> dict:
    """The platform summary of the current organization, from its rollups only (through the
    watermark): the same figures the platform dashboard shows."""
    watermark = selectors.rollup_watermark()
    rolled = DailyRollup.objects.filter(challenge__isnull=True)
    if watermark is None:
        return {"rolled_up_through": None}
    totals = rolled.aggregate(n=Sum("deposits_count"), amount=Sum("deposits_amount"))

    def saved_between(first, last):
        return rolled.filter(day__range=(first, last)).aggregate(s=Sum("deposits_amount"))["s"] or 0

    def savers_since(first):
        return (
            SaverDay.objects.filter(day__range=(first, watermark), deposits_count__gt=0)
            .values("user_id")
            .distinct()
            .count()
        )

    def members_on(day):
        row = rolled.filter(day__lte=day).order_by("-day").values_list("members_total", flat=True).first()
        return row or 0

    last_deposit = rolled.filter(deposits_count__gt=0).aggregate(d=Max("day"))["d"]
    last_login = rolled.filter(logins__gt=0).aggregate(d=Max("day"))["d"]
    return {
        "rolled_up_through": watermark,
        "members": members_on(watermark),
        "members_30d_ago": members_on(watermark - timedelta(days=30)),
        "active_savers_7d": savers_since(watermark - timedelta(days=6)),
        "active_savers_30d": savers_since(watermark - timedelta(days=29)),
        "deposits_count": totals["n"] or 0,
        "total_saved": totals["amount"] or 0,
        "saved_30d": saved_between(watermark - timedelta(days=29), watermark),
        "saved_prev_30d": saved_between(watermark - timedelta(days=59), watermark - timedelta(days=30)),
        "last_activity_on": max([d for d in (last_deposit, last_login) if d], default=None),
    }


def organization_stats_publish():
    """Write the current organization's summary row into the public schema."""
    from analytics.platform.models import OrganizationStats
    from tenants.models import Organization

    schema = connection.schema_name
    data = organization_stats_compute()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        organization = Organization.objects.get(schema_name=schema)
        stats, _ = OrganizationStats.objects.update_or_create(
            organization=organization, defaults={**data, "updated_at": timezone.now()}
        )
    return stats

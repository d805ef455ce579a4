"""The organization's clock: its time zone, and the calendar every app counts days, ISO weeks and
months in. One fallback: an organization without a (valid) zone counts in settings.TIME_ZONE.

Every app asks here rather than reading `Organization.time_zone` itself, so "today" and "this
week" mean the same on the home page, in the game, in the weekly SMS and in analytics.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone


def current_organization():
    """The organization whose schema is in use (None on the public schema)."""
    from tenants.models import Organization

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization) and tenant.schema_name == connection.schema_name:
        return tenant
    if connection.schema_name in (None, "", "public"):
        return None
    return Organization.objects.filter(schema_name=connection.schema_name).first()


def organization_zone(organization=None) -> ZoneInfo:
    """The organization's time zone (the current schema's organization when none is given)."""
    organization = organization if organization is not None else current_organization()
    name = getattr(organization, "time_zone", None) or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except Exception:  # a bad zone name in the row must not break a page, a task or a report
        return ZoneInfo(settings.TIME_ZONE)


def local_now(zone: ZoneInfo | None = None) -> datetime:
    return timezone.localtime(timezone.now(), zone or organization_zone())


def local_today(zone: ZoneInfo | None = None) -> date:
    return local_now(zone).date()


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The organization's calendar day an instant falls on."""
    return timezone.localtime(moment, zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=zone)


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) instants of the local days first..last."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def week_start(day: date) -> date:
    """Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def iso_week_label(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First and last day of a calendar month."""
    return date(year, month, 1), date(year, month, _stdlib_calendar.monthrange(year, month)[1])


def previous_month(day: date) -> tuple[date, date]:
    """The calendar month before `day`: (first day, last day)."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last

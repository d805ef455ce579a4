"""Rollups: idempotent, backfill equals the live computation, platform totals equal the sum of
the organizations' rollups."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django_tenants.utils import schema_context

from analytics import selectors, services
from analytics.models import DailyRollup, SaverDay
from tests.analytics.conftest import at


@pytest.fixture
def month_of_data(tenant, frozen_now, make_member, make_deposit, make_challenge, make_event, make_participant):
    weekly = make_challenge(name="Weekly", start="2026-02-02", days=7, status="completed")  # one week of 100
    march = make_challenge(name="March", start="2026-03-02", days=28)
    members = [make_member(joined) for joined in ("2026-01-05", "2026-02-02", "2026-02-04", "2026-02-16", "2026-03-17")]
    a, b, c, d, e = members
    make_deposit(a, 250, at("2026-02-05"), challenge=weekly)
    make_deposit(b, 100, at("2026-02-06"), challenge=weekly)
    make_deposit(a, 40, at("2026-02-15", "23:30"))
    c_deposit = make_deposit(c, 60, at("2026-02-16", "00:30"))
    c_deposit.status = "reversed"  # reversed on 2026-03-05 (payments.transaction_reverse)
    c_deposit.save(update_fields=["status"])
    make_deposit(c, -60, at("2026-03-05"), source="reversal", reverses=c_deposit)
    make_deposit(d, "12.50", at("2026-03-03"), challenge=march)
    make_deposit(a, 75, at("2026-03-16"), challenge=march)
    make_deposit(e, 10, at("2026-03-18", "09:00"))  # today: always live
    make_deposit(b, 100, at("2026-03-18", "09:30"), challenge=weekly)  # today, after it ended: counts nowhere
    make_deposit(d, 5, at("2026-03-18", "10:00"), challenge=march)  # today, an existing participant
    make_event("challenge_joined", e, at("2026-03-18", "08:00"), challenge_id=march.pk)  # a new one today
    make_deposit(c, 999, at("2026-03-10"), status="failed")
    make_event("challenge_joined", d, at("2026-03-02"), challenge_id=march.pk)
    # The participations as the game has them now: a and b met Weekly's one week (b with exactly 100);
    # in March, d (12.50 in week 1) and a (from week 3) have missed a week, e joined today.
    for user, challenge in ((a, weekly), (b, weekly), (d, march), (a, march), (e, march)):
        make_participant(user, challenge)
    make_event("notification_opened", a, at("2026-03-16", "07:00"))
    make_event("deposit_verified", a, at("2026-03-16", "12:00"))
    make_event("login", b, at("2026-03-01"))
    from analytics.sources import org_timezone

    return {"challenges": (weekly, march), "members": members, "tz": org_timezone()}


def _reports(challenge_id=None):
    overview = selectors.analytics_overview(challenge_id=challenge_id)
    overview.pop("rolled_up_through")
    return {
        "overview": overview,
        "trends": [
            selectors.analytics_savings_trends(
                first=date(2026, 1, 1), last=date(2026, 3, 18), granularity=g, challenge_id=challenge_id
            )
            for g in ("day", "week", "month")
        ],
        "engagement": selectors.analytics_engagement(
            first=date(2026, 1, 1), last=date(2026, 3, 18), challenge_id=challenge_id
        ),
    }


def _snapshot():
    rollups = list(
        DailyRollup.objects.order_by("day", "challenge_id").values("day", "challenge_id", *selectors.DAY_FIELDS)
    )
    saver_days = list(
        SaverDay.objects.order_by("day", "user_id", "challenge_id").values(
            "day", "user_id", "challenge_id", "deposits_count", "amount"
        )
    )
    return rollups, saver_days


def test_backfill_equals_live_computation(month_of_data):
    weekly, march = month_of_data["challenges"]
    live = {cid: _reports(cid) for cid in (None, weekly.pk, march.pk)}
    assert selectors.rollup_watermark() is None

    call_command("analytics_backfill", "--org", "alpha", stdout=io.StringIO())
    connection.set_tenant(tenant_of())

    assert selectors.rollup_watermark() == date(2026, 3, 17)
    assert DailyRollup.objects.filter(challenge__isnull=True).count() == (date(2026, 3, 17) - date(2026, 1, 5)).days + 1
    for cid, expected in live.items():
        assert _reports(cid) == expected, cid
    assert live[None]["overview"]["total_saved"] == "592.50"
    assert live[weekly.pk]["overview"]["completion_rate"] == 1.0  # a and b
    assert live[march.pk]["overview"]["challenge_participants"] == 3  # d, a and e (joined today)
    assert live[march.pk]["engagement"]["completion"]["failed"] == 3  # each has a week behind them unmet


def tenant_of():
    from tenants.models import Organization

    with schema_context("public"):
        return Organization.objects.get(slug="alpha")


def test_rollup_is_idempotent_and_rerolling_replaces_a_day(month_of_data, make_deposit):
    services.rollup_backfill()
    first = _snapshot()
    services.rollup_backfill()
    services.rollup_days(first=date(2026, 2, 1), last=date(2026, 2, 28))
    assert _snapshot() == first

    # A late ledger row for an already rolled day: re-rolling that day picks it up, once.
    a = month_of_data["members"][0]
    make_deposit(a, 5, at("2026-02-05", "18:00"), created_at=at("2026-03-18", "08:00"))
    services.rollup_days(first=date(2026, 2, 5), last=date(2026, 2, 5))
    services.rollup_days(first=date(2026, 2, 5), last=date(2026, 2, 5))
    day = DailyRollup.objects.get(day=date(2026, 2, 5), challenge__isnull=True)
    assert (day.deposits_count, day.deposits_amount, day.savers) == (2, Decimal("255.00"), 1)
    assert SaverDay.objects.filter(day=date(2026, 2, 5)).count() == 2  # (a, weekly) and (a, none)


def test_rollup_never_writes_today(month_of_data):
    assert services.rollup_days(first=date(2026, 3, 18), last=date(2026, 3, 20)) == 0
    assert not DailyRollup.objects.filter(day__gte=date(2026, 3, 18)).exists()


def test_nightly_job_rolls_since_the_watermark_and_rerolls_recent_days(month_of_data, settings):
    settings.ANALYTICS_REROLL_DAYS = 2
    services.rollup_days(first=date(2026, 1, 5), last=date(2026, 3, 10))
    assert selectors.rollup_watermark() == date(2026, 3, 10)
    services.rollup_nightly()
    assert selectors.rollup_watermark() == date(2026, 3, 17)
    assert DailyRollup.objects.filter(challenge__isnull=True).count() == (date(2026, 3, 17) - date(2026, 1, 5)).days + 1


def test_nightly_job_rerolls_old_days_whose_ledger_rows_changed(month_of_data, make_deposit):
    import time_machine

    from tests.analytics.conftest import NOW

    services.rollup_backfill()
    a = month_of_data["members"][0]
    # An unmatched payment from 2026-02-10 is assigned to a member during the day of 2026-03-18.
    with time_machine.travel(NOW.replace(hour=13), tick=False):
        tx = make_deposit(None, 33, at("2026-02-10"), status="unmatched")
        tx.refresh_from_db()
        tx.user, tx.status = a, "verified"
        tx.save(update_fields=["user", "status", "updated_at"])
    with time_machine.travel(NOW.replace(day=19, hour=0, minute=20), tick=False):
        services.rollup_nightly()
        live_now = selectors.day_figures(first=date(2026, 2, 10), last=date(2026, 2, 10), tz=month_of_data["tz"])
    day = DailyRollup.objects.get(day=date(2026, 2, 10), challenge__isnull=True)
    assert (day.deposits_count, day.deposits_amount) == (1, Decimal("33.00"))
    assert live_now.days[(date(2026, 2, 10), None)]["deposits_amount"] == Decimal("33.00")


def test_platform_totals_equal_the_sum_of_org_rollups(
    db, org, other_org, frozen_now, make_member, make_deposit, client_for
):
    from accounts.models import User
    from analytics.platform.models import OrganizationStats
    from analytics.platform.selectors import platform_summary

    expected_saved = Decimal(0)
    for organization, amounts in ((org, ["100.00", "20.25"]), (other_org, ["300.00"])):
        connection.set_tenant(organization)
        for amount in amounts:
            make_deposit(make_member("2026-02-01"), amount, at("2026-03-01"))
        services.rollup_backfill()
        services.organization_stats_publish()
        expected_saved += DailyRollup.objects.filter(challenge__isnull=True).aggregate(s=Sum("deposits_amount"))["s"]
        connection.set_schema_to_public()

    summary = platform_summary()
    rows = {r.organization.slug: r for r in summary["rows"]}
    assert rows["alpha"].total_saved == Decimal("120.25") and rows["beta"].total_saved == Decimal("300.00")
    assert summary["totals"]["total_saved"] == expected_saved == Decimal("420.25")
    assert summary["totals"]["members"] == sum(r.members for r in OrganizationStats.objects.all())
    assert summary["totals"]["active_savers_30d"] == 3

    staff = User.objects.create_superuser("+254799000001", password="pw-123456789")
    client = client_for(org).__class__(HTTP_HOST="localhost")
    client.force_login(staff)
    page = client.get("/admin/platform_analytics/organizationstats/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Alpha Chama" in body and "Beta SACCO" in body and "420.25" in body
    export = client.post("/admin/platform_analytics/organizationstats/", {
        "action": "export_csv", "_selected_action": [r.pk for r in summary["rows"]],
    })
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = export.content.decode().splitlines()
    assert lines[0].startswith("organization,slug,tier,status,members") and len(lines) == 1 + len(summary["rows"])
    assert any(line.startswith("Alpha Chama,alpha,") and ",120.25," in line for line in lines)


def test_dispatcher_fans_out_one_task_per_organization(db, org, other_org, monkeypatch):
    from analytics import tasks
    from tenants.models import Organization

    sent = []
    monkeypatch.setattr(tasks.rollup_tenant, "delay", lambda: sent.append(connection.schema_name))
    connection.set_schema_to_public()
    assert tasks.rollup_dispatch() == len(sent)
    expected = set(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    assert set(sent) == expected and {org.schema_name, other_org.schema_name} <= set(sent)


def test_tenant_task_rolls_up_and_publishes(month_of_data):
    from analytics.platform.models import OrganizationStats
    from analytics.tasks import rollup_tenant

    result = rollup_tenant.apply().get()
    assert result == {"schema": "org_alpha", "days": (date(2026, 3, 17) - date(2026, 1, 5)).days + 1}
    with schema_context("public"):
        stats = OrganizationStats.objects.get(organization__slug="alpha")
    assert stats.rolled_up_through == date(2026, 3, 17)
    assert stats.total_saved == Decimal("477.50")  # today's deposits are not a complete day yet
    assert (stats.members, stats.active_savers_30d, stats.deposits_count) == (5, 3, 6)

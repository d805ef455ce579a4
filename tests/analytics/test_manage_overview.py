"""The leader's overview page (/manage/) reads its figures through one selector
(analytics.selectors.manage_overview) that reuses the KPIs' read of the live ledger rows and caches
the rolled-up weeks under the rollup version (issue 13). Its figures are the reports' figures."""

from __future__ import annotations

import io
from datetime import date, timedelta

from django.core.management import call_command
from django.db import connection

from analytics import selectors
from tests.analytics.conftest import at
from tests.analytics.test_rollups import month_of_data, tenant_of  # noqa: F401 (fixture)

TODAY = date(2026, 3, 18)
FIRST = TODAY - timedelta(days=TODAY.weekday()) - timedelta(weeks=11)


def _reports() -> dict:
    trends = selectors.analytics_savings_trends(first=FIRST, last=TODAY, granularity="week")
    trends.pop("savers")  # the page shows no whole-window saver count
    return {"overview": selectors.analytics_overview(), "trends": trends,
            "completion": selectors.challenge_completion()}


def test_manage_overview_equals_the_reports_live_and_rolled_up(month_of_data, make_deposit):  # noqa: F811
    assert selectors.rollup_watermark() is None
    assert selectors.manage_overview(weeks=12) == _reports()  # nothing rolled up: all live

    call_command("analytics_backfill", "--org", "alpha", stdout=io.StringIO())
    connection.set_tenant(tenant_of())
    assert selectors.rollup_watermark() == date(2026, 3, 17)
    expected = _reports()
    assert selectors.manage_overview(weeks=12) == expected  # fills the cache
    assert selectors.manage_overview(weeks=12) == expected  # from the cache
    # This week has rolled days (Monday, Tuesday) and a live one: a saver of Monday who saves again
    # today counts once, a new one adds one.
    a, _b, _c, _d, e = month_of_data["members"]
    make_deposit(a, 30, at("2026-03-18", "11:00"))
    make_deposit(e, 20, at("2026-03-18", "11:30"))
    expected = _reports()
    this_week = expected["trends"]["series"][-1]
    assert this_week["period"] == "2026-03-16" and this_week["savers"] == 4  # a (Mon + today), b, d, e
    assert selectors.manage_overview(weeks=12) == expected


def test_manage_overview_page_runs_a_handful_of_queries(month_of_data, client_for, org,  # noqa: F811
                                                        django_assert_num_queries):
    from accounts.models import User
    from tests.conftest import ORG_PHONE

    call_command("analytics_backfill", "--org", "alpha", stdout=io.StringIO())
    connection.set_tenant(tenant_of())
    leader = client_for(org)
    leader.force_login(User.objects.get(phone_number=ORG_PHONE))
    assert leader.get("/manage/").status_code == 200  # warm: the rolled-up part is cached
    # The rollup state, members, live ledger rows, the live savers' summaries, the participations (the
    # game's outcomes), this week's savers (rolled days + today); the session and the user come from the
    # cache (accounts.backends) and the search_path stays set (savegame/db/base.py). Before: 29 here (the
    # KPIs, then the 12-week trends and the outcomes, each from scratch, and the search_path again); 10
    # while analytics re-derived outcomes. Plus the set-up checklist's two reads while the group is not
    # set up (issue 16 item 21: a published challenge, an M-Pesa payment received).
    with django_assert_num_queries(8):
        response = leader.get("/manage/")
    assert response.status_code == 200 and b"2026-03-16" in response.content

"""The analytics API and pages over HTTP: permissions, shapes, filters, isolation, exports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from tests.analytics.conftest import at


@pytest.fixture
def data(tenant, frozen_now, make_member, make_deposit, make_challenge, make_participant):
    weekly = make_challenge(name="Weekly", start="2026-02-02", days=7, status="completed")  # one week of 100
    a, b = make_member("2026-02-02"), make_member("2026-03-02")
    make_deposit(a, 200, at("2026-02-05"), challenge=weekly)
    assert make_participant(a, weekly).status == "completed"
    make_deposit(b, "49.50", at("2026-03-17"))
    return {"challenge": weekly, "members": (a, b)}


@pytest.fixture
def admin_api(api_client_for, org, org_admin):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    return client


def test_overview_answers_the_contract_shape(data, admin_api):
    response = admin_api.get("/api/v1/analytics/overview")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"total_saved", "members", "active_savers_7d", "active_savers_30d", "participation_rate"} <= set(body)
    assert body["total_saved"] == "249.50" and isinstance(body["total_saved"], str)
    assert body["members"] == 2 and body["active_savers_7d"] == 1 and body["active_savers_30d"] == 1
    assert body["participation_rate"] == 0.5 and 0 <= body["completion_rate"] <= 1
    assert body["completion_rate"] == 1.0 and body["average_deposit"] == "124.75"
    assert admin_api.get("/api/v1/analytics/overview/").status_code == 200


def test_only_org_admins_may_read(data, api_client_for, org):
    anonymous = api_client_for(org).get("/api/v1/analytics/overview")
    assert anonymous.status_code in (401, 403)
    member = api_client_for(org)
    member.force_authenticate(data["members"][0])
    for path in ("overview", "savings-trends", "engagement"):
        response = member.get(f"/api/v1/analytics/{path}")
        assert response.status_code == 403 and "detail" in response.json()


def test_trends_and_engagement_take_range_and_challenge(data, admin_api):
    cid = data["challenge"].pk
    trends = admin_api.get(
        f"/api/v1/analytics/savings-trends?from=2026-02-01&to=2026-03-18&granularity=month&challenge={cid}"
    )
    assert trends.status_code == 200, trends.content
    body = trends.json()
    assert [(p["period"], p["amount"]) for p in body["series"]] == [("2026-02-01", "200.00"), ("2026-03-01", "0.00")]
    assert body["total_saved"] == "200.00" and body["challenge"] == cid
    everything = admin_api.get("/api/v1/analytics/savings-trends?from=2026-03-17&to=2026-03-17").json()
    assert everything["total_saved"] == "49.50" and everything["series"][0]["savers"] == 1
    engagement = admin_api.get(f"/api/v1/analytics/engagement?from=2026-02-01&to=2026-03-18&challenge={cid}")
    assert engagement.status_code == 200
    body = engagement.json()
    assert body["completion"]["completed"] == 1 and body["completion"]["completion_rate"] == 1.0
    assert {"streaks", "retention_cohorts", "notifications"} <= set(body)


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-03-10&to=2026-03-01", "from"),
        ("from=yesterday", "from"),
        ("challenge=999999", "challenge"),
        ("granularity=year", "granularity"),
        ("from=2019-01-01&to=2026-03-01", "from"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_field(data, admin_api, query, field):
    response = admin_api.get(f"/api/v1/analytics/savings-trends?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_overview_takes_a_challenge_filter(data, admin_api):
    cid = data["challenge"].pk
    body = admin_api.get(f"/api/v1/analytics/overview?challenge={cid}").json()
    assert (body["total_saved"], body["deposits_count"], body["challenge_participants"]) == ("200.00", 1, 1)
    bad = admin_api.get("/api/v1/analytics/overview?challenge=999999")
    assert bad.status_code == 400 and "challenge" in bad.json()


def test_one_org_never_sees_another_orgs_figures(data, api_client_for, other_org):
    from accounts.models import User

    connection.set_tenant(other_org)
    admin = User.objects.get(role="org_admin")
    client = api_client_for(other_org)
    client.force_authenticate(admin)
    body = client.get("/api/v1/analytics/overview").json()
    assert body["total_saved"] == "0.00" and body["members"] == 0


def test_overview_query_count_is_bounded(data, admin_api, django_assert_max_num_queries):
    admin_api.get("/api/v1/analytics/overview")
    with django_assert_max_num_queries(14):
        assert admin_api.get("/api/v1/analytics/overview").status_code == 200


def test_openapi_schema_documents_the_analytics_endpoints(tenant):
    import json

    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert {"/api/v1/analytics/overview", "/api/v1/analytics/savings-trends", "/api/v1/analytics/engagement"} <= set(
        paths
    )
    params = {p["name"] for p in paths["/api/v1/analytics/engagement"]["get"]["parameters"]}
    assert {"from", "to", "challenge"} <= params
    text = json.dumps(schema["components"], default=str)
    assert "participation_rate" in text and "retention_cohorts" in text


# --- pages ------------------------------------------------------------------------------------
@pytest.fixture
def admin_web(client_for, org, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    return client


def test_manage_overview_shows_kpis_chart_and_table(data, admin_web):
    response = admin_web.get("/manage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "KES 249.50" in html and "<svg" in html and 'role="img"' in html and "<table>" in html
    assert "2026-03-16" in html  # the current week's row in the table


def test_manage_pages_are_for_org_admins_only(data, client_for, org):
    anonymous = client_for(org).get("/manage/analytics/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    member = client_for(org)
    member.force_login(data["members"][0])
    assert member.get("/manage/").status_code == 403
    assert member.get("/manage/analytics/export/overview.csv").status_code == 403


def test_manage_analytics_filters_and_renders_every_report(data, admin_web):
    cid = data["challenge"].pk
    response = admin_web.get(f"/manage/analytics/?start=2026-02-01&end=2026-03-18&granularity=week&challenge={cid}")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in (
        "Savings from 2026-02-01 to 2026-03-18",
        "Challenge completion",
        "Saving streaks",
        "Weekly retention cohorts",
        "Notifications that led to a deposit",
    ):
        assert heading in html
    assert "KES 200.00 in 1 deposits by 1 savers." in html
    bad = admin_web.get("/manage/analytics/?start=2026-03-10&end=2026-03-01")
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()


def test_csv_export_per_report(data, admin_web):
    import csv
    import io

    trends = admin_web.get(
        "/manage/analytics/export/savings-trends.csv?start=2026-03-16&end=2026-03-18&granularity=day"
    )
    assert trends.status_code == 200 and trends["Content-Type"].startswith("text/csv")
    assert "attachment" in trends["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(trends.content.decode())))
    assert rows == [
        ["period", "deposits_count", "amount", "savers", "average_deposit"],
        ["2026-03-16", "0", "0.00", "0", "0.00"],
        ["2026-03-17", "1", "49.50", "1", "49.50"],
        ["2026-03-18", "0", "0.00", "0", "0.00"],
    ]
    overview = dict(csv.reader(io.StringIO(admin_web.get("/manage/analytics/export/overview.csv").content.decode())))
    assert overview["total_saved"] == "249.50"
    for report in ("completion", "streaks", "retention", "conversion"):
        response = admin_web.get(f"/manage/analytics/export/{report}.csv")
        assert response.status_code == 200 and len(response.content.decode().splitlines()) >= 2, report
    assert admin_web.get("/manage/analytics/export/secrets.csv").status_code == 404


def test_monthly_statement_for_a_member(data, admin_web, client_for, org, make_deposit):
    a, b = data["members"]
    make_deposit(a, 300, at("2026-03-01", "00:15"))  # Feb 28 21:15 UTC: a March deposit in Nairobi
    make_deposit(a, 999, at("2026-03-05"), status="failed")
    response = admin_web.get(f"/manage/members/{a.pk}/statement/?month=2026-03")
    assert response.status_code == 200
    html = response.content.decode()
    assert "KES 200.00" in html  # opening balance: February's deposit
    assert "300.00" in html and "999" not in html and "KES 500.00" in html  # closing balance
    from django.contrib.staticfiles import finders  # the print layout is a static stylesheet (CSP)

    assert "/static/css/statement.css" in html and "@media print" in open(finders.find("css/statement.css")).read()
    own = client_for(org)
    own.force_login(b)
    mine = own.get("/statement/?month=2026-03").content.decode()
    assert "49.50" in mine and "300.00" not in mine
    assert own.get(f"/manage/members/{a.pk}/statement/").status_code == 403


def test_statement_totals_are_decimal_exact(data):
    from analytics.selectors import member_statement

    a, _ = data["members"]
    got = member_statement(user=a, year=2026, month=2)
    assert got["saved"] == Decimal("200.00") and got["opening_balance"] == Decimal(0) and got["deposits_count"] == 1

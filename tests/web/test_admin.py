"""The platform owner's console: status per organization (members, last activity, from the summary
analytics.platform publishes), links."""

from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Organization


def _superuser():
    from accounts.models import User

    with schema_context("public"):
        return User.objects.create_superuser("+254700999999", password="x-very-secret-1")


def test_list_reads_members_and_last_activity_from_the_published_summary(db, org, other_org,
                                                                         django_assert_max_num_queries):
    """The console reads analytics.platform's summary rows (what each organization's rollup
    publishes), never the tenants' own tables: the figures are those of the last rollup."""
    from datetime import date

    from analytics.platform.models import OrganizationStats

    OrganizationStats.objects.update_or_create(organization=org, defaults={
        "members": 7, "last_activity_on": date(2026, 3, 17), "rolled_up_through": date(2026, 3, 17)})
    OrganizationStats.objects.filter(organization=other_org).delete()
    client = Client(HTTP_HOST="localhost")
    client.force_login(_superuser())
    with django_assert_max_num_queries(20) as queries:
        response = client.get("/admin/tenants/organization/")
    statements = " ".join(q["sql"] for q in queries.captured_queries)
    assert "payments_transaction" not in statements and "UNION ALL" not in statements
    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index(f">{org.name}<"):]
    row = row[:row.index("</tr>")]
    assert ">7<" in row and "March 17, 2026" in row.replace("Mar.", "March")
    other = html[html.index(f">{other_org.name}<"):]
    other = other[:other.index("</tr>")]
    assert ">never<" in other


def test_organization_list_shows_live_status_and_links(db, org, other_org):
    client = Client(HTTP_HOST="localhost")
    client.force_login(_superuser())
    response = client.get("/admin/tenants/organization/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Last activity" in html and "Members" in html
    assert f"http://{org.slug}.localhost" in html and "/manage/" in html
    detail = client.get(f"/admin/tenants/organization/{org.pk}/change/")
    assert detail.status_code == 200 and b"Figures as of" in detail.content
    assert Organization.objects.count() >= 3


def test_admin_login_takes_the_local_phone_format(db):
    """Issue 16.22: 0799000999 failed where +254799000999 worked (member login accepts both)."""
    from accounts.models import User

    with schema_context("public"):
        User.objects.create_superuser("+254799000999", password="x-very-secret-1")
    for typed in ("0799000999", "+254799000999", "254 799 000 999"):
        client = Client(HTTP_HOST="localhost")
        response = client.post("/admin/login/?next=/admin/", {"username": typed, "password": "x-very-secret-1",
                                                              "next": "/admin/"})
        assert response.status_code == 302 and response["Location"] == "/admin/", typed
    refused = Client(HTTP_HOST="localhost").post("/admin/login/", {"username": "not-a-phone", "password": "x"})
    assert refused.status_code == 200

"""The platform owner's console: live status per organization (members, last deposit), links."""

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Organization
from web.selectors import organization_activity


def _superuser():
    from accounts.models import User

    with schema_context("public"):
        return User.objects.create_superuser("+254700999999", password="x-very-secret-1")


def test_activity_counts_members_and_last_deposit_across_schemas(db, org, other_org):
    from accounts.services import user_create
    from payments.models import Transaction

    with schema_context(org.schema_name):
        user = user_create(phone_number="+254712300300")
        now = timezone.now()
        Transaction.objects.create(user=user, amount=10, status="verified", source="c2b", transaction_id="ADM1",
                                   transacted_at=now, verified_at=now)
        members = 1 + 1  # the org admin made at provisioning + this member
    activity = organization_activity(organizations=[org, other_org])
    assert activity[org.id]["members"] == members and activity[org.id]["last_deposit"] == now
    assert activity[other_org.id]["members"] == 1 and activity[other_org.id]["last_deposit"] is None


def test_organization_list_shows_live_status_and_links(db, org, other_org):
    client = Client(HTTP_HOST="localhost")
    client.force_login(_superuser())
    response = client.get("/admin/tenants/organization/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Last deposit" in html and "Members" in html
    assert f"http://{org.slug}.localhost" in html and "/manage/" in html
    detail = client.get(f"/admin/tenants/organization/{org.pk}/change/")
    assert detail.status_code == 200 and b"Live status" in detail.content
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

"""Cross-capability isolation over HTTP: with data in org A (`org`) and org B (`other_org`), A's
admin, by session or by JWT, gets nothing of B's members, audit log, notifications, templates,
broadcasts or settings from any endpoint or /manage/ page; B's host refuses A's token and A's
session; work sent in A (a broadcast fanned out by Celery) touches nobody in B."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import host_of

B_PHONE = "+254799888777"
B_NAME = "Beta Only Mwangi"
B_TEMPLATE = "{org}: BETA-ONLY wording {code} {minutes}"
B_BROADCAST = "BETA-ONLY meeting on Friday"
B_AUDIT = "beta.only_action"
B_MESSAGE = "BETA-ONLY deposit text"

A_PAGES = ["/manage/members/", "/manage/members/import/", "/manage/audit/",
           "/manage/notifications/", "/manage/settings/", "/profile/",
           "/?site=member"]  # the member home (an admin of a group not set up yet is sent to /manage/ from "/")
A_API = ["/api/v1/members", "/api/v1/members?search=Mwangi", "/api/v1/members?search=799888777",
         "/api/v1/audit", f"/api/v1/audit?action={B_AUDIT}", "/api/v1/notifications",
         "/api/v1/notification-templates", "/api/v1/sms-settings", "/api/v1/organizations/current",
         "/api/v1/notification-preferences", "/api/v1/push-subscriptions", "/api/v1/auth/me"]


@pytest.fixture
def b_data(tenant, org, other_org):
    """B's members, audit row, notification, template override, broadcast and SMS settings, created
    in B's schema inside the test's transaction (rolled back after)."""
    from accounts.factories import UserFactory
    from accounts.models import User
    from accounts.services import audit_record
    from notifications.models import Broadcast, Notification, NotificationTemplate, SmsSettings

    with schema_context(other_org.schema_name):
        member = UserFactory(phone_number=B_PHONE, name=B_NAME, language="sw")
        admin = User.objects.get(role=User.Role.ORG_ADMIN, phone_number="+254711000002")
        audit_record(actor=admin, action=B_AUDIT, target=member, after={"who": B_NAME}, ip_address="10.9.9.9")
        notification = Notification.objects.create(user=member, channel="sms", template="deposit_confirmed",
                                                   language="sw", title="BETA", message=B_MESSAGE)
        NotificationTemplate.objects.create(key="otp", language="sw", title="BETA", body=B_TEMPLATE)
        broadcast = Broadcast.objects.create(message=B_BROADCAST, audience="all", created_by=admin)
        settings_row = SmsSettings.objects.first() or SmsSettings.objects.create()
        settings_row.username, settings_row.sender_id = "beta-at-user", "BETAONLY"
        settings_row.save()
        ids = {"member": member.pk, "notification": notification.pk, "broadcast": broadcast.pk, "admin": admin.pk}
    connection.set_tenant(org)
    return ids


MARKERS = (B_PHONE, "799888777", B_NAME, "BETA-ONLY", B_AUDIT, "beta-at-user", "BETAONLY", "Beta SACCO", "10.9.9.9")


def assert_nothing_of_b(body: str, where: str):
    leaked = [m for m in MARKERS if m in body]
    assert not leaked, f"{where} shows org B's {leaked}"


@pytest.fixture
def a_session(client_for, org, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    return client


@pytest.fixture
def a_token(org, org_admin):
    from accounts.authentication import tokens_for_user

    return tokens_for_user(org_admin)


@pytest.fixture
def a_jwt(api_client_for, org, a_token):
    client = api_client_for(org)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {a_token['access']}")
    return client


def test_a_admins_session_sees_nothing_of_b_on_any_page_or_endpoint(a_session, b_data):
    for path in A_PAGES + A_API:
        response = a_session.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_nothing_of_b(response.content.decode(), path)
    # an edit form for a template B customised shows A's (default) wording
    edit = a_session.get("/manage/notifications/?edit=otp:sw").content.decode()
    assert "Nambari yako ya" in edit
    assert_nothing_of_b(edit, "template editor")


def test_a_admins_jwt_sees_nothing_of_b(a_jwt, b_data):
    for path in A_API:
        response = a_jwt.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_nothing_of_b(response.content.decode(), path)
    templates = {(t["key"], t["language"]): t for t in a_jwt.get("/api/v1/notification-templates").json()}
    assert not templates[("otp", "sw")]["customized"]


def test_b_objects_by_id_answer_404_or_as_in_a(a_session, a_jwt, org, other_org, b_data):
    """Ids are per schema: B's ids either do not exist in A (404) or name A's own rows, never B's."""
    for client in (a_session, a_jwt):
        for path in (f"/api/v1/members/{b_data['member']}", f"/api/v1/broadcasts/{b_data['broadcast']}",
                     f"/api/v1/organizations/{other_org.id}"):
            response = client.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
            assert_nothing_of_b(response.content.decode(), path)
        assert client.get(f"/api/v1/organizations/{other_org.id}").status_code == 404
        assert client.patch(f"/api/v1/organizations/{other_org.id}", {"name": "Taken over"},
                            content_type="application/json").status_code == 404
    other_org.refresh_from_db()
    assert other_org.name == "Beta SACCO"


def test_b_host_refuses_a_token(api_client_for, other_org, a_token, b_data):
    client = api_client_for(other_org)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {a_token['access']}")
    for path in A_API:
        response = client.get(path)
        assert response.status_code == 401, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json")
        assert_nothing_of_b(response.content.decode(), path)
    assert client.post("/api/v1/members", {"phone_number": "0712999000", "name": "Intruder"},
                       format="json").status_code == 401
    refresh = api_client_for(other_org).post("/api/v1/auth/refresh", {"refresh": a_token["refresh"]}, format="json")
    assert refresh.status_code == 401
    with schema_context(other_org.schema_name):
        from accounts.models import User

        assert not User.objects.filter(phone_number="+254712999000").exists()


def test_b_host_ignores_a_session(a_session, other_org, b_data):
    """A's session cookie presented on B's host is no session there: pages send to login, API 401/403."""
    host = host_of(other_org)
    for path in ["/manage/", "/manage/members/", "/manage/audit/", "/manage/notifications/", "/manage/settings/"]:
        response = a_session.get(path, HTTP_HOST=host)
        assert response.status_code == 302 and "/login/" in response["Location"], (path, response.status_code)
    for path in A_API:
        response = a_session.get(path, HTTP_HOST=host)
        assert response.status_code in (401, 403), (path, response.status_code)
        assert_nothing_of_b(response.content.decode(), path)
    role = a_session.post(f"/manage/members/{b_data['member']}/role/", {"role": "org_admin"}, HTTP_HOST=host)
    assert role.status_code in (302, 403) and "/login/" in role.get("Location", "/login/")
    with schema_context(other_org.schema_name):
        from accounts.models import User

        assert User.objects.get(pk=b_data["member"]).role == User.Role.MEMBER


def test_a_broadcast_reaches_only_a(a_session, org, other_org, b_data, sms_outbox, settings,
                                    django_capture_on_commit_callbacks):
    """A broadcast sent in A fans out through Celery (eager) in A's schema only: B's members get
    no row and no SMS, B's broadcast and notification counts do not move."""
    import time_machine

    from accounts.factories import UserFactory
    from notifications.models import Broadcast, Notification
    from savegame.celery import app

    UserFactory(phone_number="+254712000555", name="Alpha Member")
    with schema_context(other_org.schema_name):
        b_counts = (Notification.objects.count(), Broadcast.objects.count())
    connection.set_tenant(org)

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        with time_machine.travel("2026-11-25T12:00:00+03:00", tick=True), \
                django_capture_on_commit_callbacks(execute=True):
            response = a_session.post("/api/v1/broadcasts", {"message": "Alpha meeting Saturday", "audience": "all"},
                                      content_type="application/json")
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous
    assert response.status_code == 202, response.content
    connection.set_tenant(org)
    a_rows = Notification.objects.filter(template="broadcast")
    assert a_rows.filter(user__phone_number="+254712000555").exists()
    sent_to = {m["to"] for m in sms_outbox()}
    assert "+254712000555" in sent_to and B_PHONE not in sent_to
    assert all("Alpha meeting Saturday" in m["message"] for m in sms_outbox())
    with schema_context(other_org.schema_name):
        assert (Notification.objects.count(), Broadcast.objects.count()) == b_counts
        assert not Notification.objects.filter(message__contains="Alpha meeting").exists()


def test_control_b_admin_does_see_b_data_on_b_host(client_for, api_client_for, other_org, b_data):
    """The markers are findable where they belong, so the checks above can fail."""
    with schema_context(other_org.schema_name):
        from accounts.models import User

        admin = User.objects.get(pk=b_data["admin"])
        session = client_for(other_org)
        session.force_login(admin)  # the session row lives in B's schema
    seen = {path: session.get(path).content.decode() for path in
            ["/manage/members/", "/manage/audit/", "/manage/notifications/?edit=otp:sw", "/api/v1/notifications",
             "/api/v1/sms-settings"]}
    assert B_NAME in seen["/manage/members/"] and B_AUDIT in seen["/manage/audit/"]
    assert "BETA-ONLY" in seen["/manage/notifications/?edit=otp:sw"] and B_MESSAGE in seen["/api/v1/notifications"]
    assert "beta-at-user" in seen["/api/v1/sms-settings"]
    connection.set_schema_to_public()

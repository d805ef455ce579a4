"""Members API (CONTRACT.md): org admins manage members; a member sees only themself; 404 for both
forbidden and missing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.factories import OrgAdminFactory, UserFactory
from accounts.models import AuditEvent, User


@pytest.fixture
def admin_client(org_admin, org, api_client_for):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    return client


def test_admin_adds_a_member_and_gets_the_account_code(admin_client, org_admin):
    response = admin_client.post("/api/v1/members", {"phone_number": "0722 111 222", "name": "Akinyi Otieno"},
                                 format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "phone_number", "name", "role", "account_code"} <= set(body)
    assert body["phone_number"] == "+254722111222" and body["role"] == "member" and len(body["account_code"]) == 6
    event = AuditEvent.objects.get(action="user.created", target_id=str(body["id"]))
    assert event.actor == org_admin and event.ip_address == "127.0.0.1"
    assert event.after["phone_number"] == "+254722111222"


def test_duplicate_and_malformed_numbers_are_400(admin_client):
    UserFactory(phone_number="+254722111333")
    duplicate = admin_client.post("/api/v1/members", {"phone_number": "0722111333", "name": "X"}, format="json")
    assert duplicate.status_code == 400 and "phone_number" in duplicate.json()
    bad = admin_client.post("/api/v1/members", {"phone_number": "12345", "name": "X"}, format="json")
    assert bad.status_code == 400 and bad.json()["phone_number"][0]


def test_list_is_paginated_and_searchable(admin_client):
    UserFactory(phone_number="+254733000001", name="Zawadi Mwangi")
    UserFactory(phone_number="+254733000002", name="Baraka Njoroge")
    body = admin_client.get("/api/v1/members").json()
    assert {"count", "results", "next", "previous"} <= set(body)
    assert body["count"] >= 3
    found = admin_client.get("/api/v1/members", {"search": "zawadi"}).json()
    assert [m["name"] for m in found["results"]] == ["Zawadi Mwangi"]
    by_phone = admin_client.get("/api/v1/members", {"search": "0733000002"}).json()
    assert [m["name"] for m in by_phone["results"]] == ["Baraka Njoroge"]
    trailing = admin_client.get("/api/v1/members/")
    assert trailing.status_code == 200


def test_member_sees_themself_but_not_other_members(tenant, org, api_client_for):
    me = UserFactory(phone_number="+254733000010")
    other = UserFactory(phone_number="+254733000011")
    client = api_client_for(org)
    client.force_authenticate(me)
    mine = client.get(f"/api/v1/members/{me.pk}")
    assert mine.status_code == 200 and mine.json()["account_code"] == me.account_code
    theirs = client.get(f"/api/v1/members/{other.pk}")
    missing = client.get("/api/v1/members/987654")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert client.get("/api/v1/members").status_code == 403
    assert client.post("/api/v1/members", {"phone_number": "0733000012"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/members/{me.pk}", {"role": "org_admin"}, format="json").status_code == 403
    assert client.get("/api/v1/audit").status_code == 403


def test_member_of_org_a_cannot_see_org_b_members(tenant, org, other_org, api_client_for, login, in_schema):
    with in_schema(other_org.schema_name):
        stranger = UserFactory(phone_number="+254733000020", name="Beta Only")
    me = UserFactory(phone_number="+254733000021")
    tokens = login(org, me.phone_number)
    client = api_client_for(org)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    for member_id in {stranger.pk, stranger.pk + 1, 1}:
        response = client.get(f"/api/v1/members/{member_id}")
        assert b"+254733000020" not in response.content and b"Beta Only" not in response.content
        if member_id != me.pk:
            assert response.status_code == 404


def test_role_change_is_audited_with_before_and_after(admin_client, org_admin):
    member = UserFactory(phone_number="+254733000030")
    response = admin_client.patch(f"/api/v1/members/{member.pk}", {"role": "org_admin"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "org_admin"
    event = AuditEvent.objects.get(action="user.role_changed", target_id=str(member.pk))
    assert event.before == {"role": "member"} and event.after == {"role": "org_admin"}
    assert event.actor == org_admin and event.request_id


def test_last_admin_cannot_be_demoted(admin_client, org_admin):
    User.objects.filter(role="org_admin").exclude(pk=org_admin.pk).update(role="member")
    response = admin_client.patch(f"/api/v1/members/{org_admin.pk}", {"role": "member"}, format="json")
    assert response.status_code == 400 and "role" in response.json()


def test_remove_deactivates_and_audits(admin_client, org_admin):
    member = UserFactory(phone_number="+254733000040")
    assert admin_client.delete(f"/api/v1/members/{member.pk}").status_code == 204
    member.refresh_from_db()
    assert not member.is_active
    assert AuditEvent.objects.filter(action="user.removed", target_id=str(member.pk), actor=org_admin).exists()
    assert admin_client.get(f"/api/v1/members/{member.pk}").status_code == 200  # history stays readable
    assert admin_client.delete(f"/api/v1/members/{org_admin.pk}").status_code == 400


def test_csv_import_reports_each_row(admin_client):
    UserFactory(phone_number="+254733000050")
    csv = (b"name,phone\n"
           b"Amani Kiprop,0733000051\n"
           b"Bad Number,12345\n"
           b"Already Here,0733000050\n"
           b"\n"
           b"Neema Wambui,+254733000052\n")
    response = admin_client.post("/api/v1/members/import",
                                 {"file": SimpleUploadedFile("m.csv", csv, content_type="text/csv")},
                                 format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 2 and body["failed"] == 2
    by_row = {r["row"]: r for r in body["rows"]}
    assert by_row[2]["status"] == "created" and by_row[6]["status"] == "created"
    assert by_row[3]["status"] == "error" and by_row[3]["errors"]["phone_number"]
    assert by_row[4]["status"] == "error" and "exists" in by_row[4]["errors"]["phone_number"][0]
    assert User.objects.filter(phone_number__in=["+254733000051", "+254733000052"]).count() == 2
    assert AuditEvent.objects.filter(action="members.imported").exists()


def test_csv_without_header_and_in_excel_encoding(admin_client):
    csv = "Jos\xe9 Ochieng,0733000061\n".encode("cp1252")
    response = admin_client.post("/api/v1/members/import",
                                 {"file": SimpleUploadedFile("m.csv", csv, content_type="text/csv")},
                                 format="multipart")
    assert response.json()["rows"][0]["name"] == "José Ochieng"


def test_audit_api_lists_events_for_admins(admin_client):
    member = UserFactory(phone_number="+254733000070")
    admin_client.patch(f"/api/v1/members/{member.pk}", {"role": "org_admin"}, format="json")
    body = admin_client.get("/api/v1/audit", {"action": "user.role_changed"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["before"] == {"role": "member"} and row["ip_address"] == "127.0.0.1" and row["actor_label"]


def test_admin_of_org_a_sees_nothing_of_org_b(tenant, org, other_org, api_client_for, login, in_schema):
    tokens = login(org, "+254711000001")
    with in_schema(other_org.schema_name):
        b_members = set(User.objects.values_list("phone_number", flat=True))
        UserFactory(phone_number="+254733000080", name="Beta Member")
    client = api_client_for(org)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    phones = {m["phone_number"] for m in client.get("/api/v1/members").json()["results"]}
    assert "+254733000080" not in phones
    assert "+254711000002" not in phones  # beta's admin
    assert b_members


def test_second_admin_can_manage(tenant, org, api_client_for):
    admin = OrgAdminFactory(phone_number="+254733000090")
    client = api_client_for(org)
    client.force_authenticate(admin)
    assert client.get("/api/v1/members").status_code == 200


def test_csv_import_refuses_files_that_are_not_csv(admin_client):
    # found by schemathesis: a PNG upload used to crash the csv module (500)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    response = admin_client.post("/api/v1/members/import",
                                 {"file": SimpleUploadedFile("file.png", png, content_type="image/png")},
                                 format="multipart")
    assert response.status_code == 400 and response.json()["file"]


def test_member_list_query_count_does_not_grow_with_members(admin_client, django_assert_max_num_queries):
    for n in range(5):
        UserFactory(phone_number=f"+2547770000{n:02d}")
    with django_assert_max_num_queries(5) as few:  # host lookup (cold cache), schema switches, count, page
        admin_client.get("/api/v1/members")
    for n in range(5, 40):
        UserFactory(phone_number=f"+2547770000{n:02d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get("/api/v1/members").json()["count"] >= 40


def test_added_and_imported_members_get_a_welcome_sms_and_a_nameless_row_is_refused(admin_client, org):
    """Issue 16.2: adding or importing members sent nothing; a row with no name was listed as "—"."""
    from notifications.models import Notification
    from payments.models import MpesaSettings

    row = MpesaSettings.objects.get()
    row.shortcode, row.shortcode_type = "600123", MpesaSettings.ShortcodeType.PAYBILL
    row.save()
    added = admin_client.post("/api/v1/members", {"phone_number": "0722 111 333", "name": "Akinyi"}, format="json")
    csv = b"name,phone\nAmani Kiprop,0733000151\n,0733000152\n"
    report = admin_client.post("/api/v1/members/import",
                               {"file": SimpleUploadedFile("m.csv", csv, content_type="text/csv")},
                               format="multipart").json()
    assert report["created"] == 1 and report["failed"] == 1
    (nameless,) = [r for r in report["rows"] if r["status"] == "error"]
    assert nameless["row"] == 3 and nameless["errors"]["name"]
    assert not User.objects.filter(phone_number="+254733000152").exists()
    welcomes = {n.user.phone_number: n for n in Notification.objects.filter(template="welcome").select_related("user")}
    assert set(welcomes) == {"+254722111333", "+254733000151"}
    akinyi = User.objects.get(pk=added.json()["id"])
    text = welcomes["+254722111333"].message
    assert "Welcome, Akinyi" in text and "Paybill 600123" in text and akinyi.account_code in text
    assert f"{org.slug}." in text  # the site link


def test_a_new_organizations_first_admin_gets_a_welcome_sms(db):
    from django_tenants.utils import schema_context

    from notifications.models import Notification
    from tenants.services import organization_create

    organization = organization_create(slug="karibu-walk", name="Karibu Chama", type="chama",
                                       admin_phone="0712777888", admin_name="Wanjiku")
    with schema_context(organization.schema_name):  # the test's transaction drops it all afterwards
        (welcome,) = Notification.objects.filter(template="welcome_admin")
        assert welcome.to == "+254712777888" and "/manage/" in welcome.message and "Wanjiku" in welcome.message

"""Site login (session + CSRF, same OTP rules) and the leader pages for members and the audit log."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.factories import UserFactory
from accounts.models import AuditEvent, User
from tests.accounts.conftest import code_from
from tests.conftest import host_of


@pytest.fixture
def csrf_client(org):
    return Client(HTTP_HOST=host_of(org), enforce_csrf_checks=True)


def _csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200
    return client.cookies["csrftoken"].value


def test_login_with_phone_then_code_sends_admins_to_manage(tenant, org, csrf_client, sms_outbox):
    token = _csrf(csrf_client, "/login/")
    assert csrf_client.post("/login/", {"phone_number": "0711000001"}).status_code == 403  # no CSRF token
    response = csrf_client.post("/login/", {"phone_number": "0711000001", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and "step=code" in response["Location"]
    page = csrf_client.get(response["Location"])
    assert b"+254711000001" in page.content and b'autocomplete="one-time-code"' in page.content
    code = code_from(sms_outbox()[-1])
    token = csrf_client.cookies["csrftoken"].value
    wrong = csrf_client.post("/login/?step=code", {"code": "000000" if code != "000000" else "111111",
                                                   "csrfmiddlewaretoken": token})
    assert wrong.status_code == 400 and b"not right" in wrong.content
    import time

    time.sleep(1.1)  # django-otp back-off after a wrong code
    done = csrf_client.post("/login/?step=code", {"code": code, "csrfmiddlewaretoken": token})
    assert done.status_code == 302 and done["Location"] == "/manage/"
    assert csrf_client.get("/manage/members/").status_code == 200


def test_members_land_on_home_and_next_is_honoured(tenant, org, client_for, sms_outbox):
    UserFactory(phone_number="+254744000001")
    client = client_for(org)
    client.post("/login/", {"phone_number": "0744000001"})
    done = client.post("/login/?step=code", {"code": code_from(sms_outbox()[-1])})
    assert done["Location"] == "/"
    assert client.get("/manage/members/").status_code == 403  # not an admin: the dashboard guard says so

    UserFactory(phone_number="+254744000002")
    second = client_for(org)
    second.post("/login/?next=/challenges/", {"phone_number": "0744000002", "next": "/challenges/"})
    done = second.post("/login/?step=code&next=/challenges/", {"code": code_from(sms_outbox()[-1]),
                                                                "next": "/challenges/"})
    assert done["Location"] == "/challenges/"
    UserFactory(phone_number="+254744000003")
    third = client_for(org)
    third.post("/login/", {"phone_number": "0744000003", "next": "https://evil.example.com/"})
    done = third.post("/login/?step=code", {"code": code_from(sms_outbox()[-1]), "next": "https://evil.example.com/"})
    assert done["Location"] == "/"


def test_login_shows_why_a_number_is_bad(tenant, org, client_for):
    response = client_for(org).post("/login/", {"phone_number": "12345"})
    assert response.status_code == 400 and b'role="alert"' in response.content


def test_unknown_number_goes_to_the_code_step_like_anyone(tenant, org, client_for, sms_outbox):
    response = client_for(org).post("/login/", {"phone_number": "0799000111"})
    assert response.status_code == 302 and "step=code" in response["Location"]
    assert sms_outbox() == []


def test_logout_needs_post(tenant, org, client_for, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    assert client.get("/logout/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/manage/members/")["Location"].startswith("/login/")


def test_session_of_org_a_is_nothing_on_org_b(tenant, org, other_org, client_for, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    client.defaults["HTTP_HOST"] = host_of(other_org)
    assert client.get("/manage/members/").status_code == 302


@pytest.fixture
def admin_pages(tenant, org, client_for, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    return client


def test_members_page_lists_searches_and_has_an_empty_state(admin_pages):
    UserFactory(phone_number="+254755000001", name="Halima Yusuf")
    page = admin_pages.get("/manage/members/")
    assert b"Halima Yusuf" in page.content
    assert b"Halima" in admin_pages.get("/manage/members/?q=halima").content
    empty = admin_pages.get("/manage/members/?q=nobody-like-this")
    assert b"No member matches" in empty.content


def test_add_member_page(admin_pages, org_admin):
    response = admin_pages.post("/manage/members/add/", {"name": "Otieno", "phone_number": "0755000002",
                                                         "role": "member"})
    assert response.status_code == 302
    assert User.objects.filter(phone_number="+254755000002").exists()
    bad = admin_pages.post("/manage/members/add/", {"name": "X", "phone_number": "0755000002", "role": "member"})
    assert bad.status_code == 400 and b"already exists" in bad.content


def test_role_change_and_remove_pages(admin_pages, org_admin):
    member = UserFactory(phone_number="+254755000003")
    admin_pages.post(f"/manage/members/{member.pk}/role/", {"role": "org_admin"})
    member.refresh_from_db()
    assert member.role == "org_admin"
    admin_pages.post(f"/manage/members/{member.pk}/remove/")
    member.refresh_from_db()
    assert not member.is_active
    assert admin_pages.post("/manage/members/999999/remove/").status_code == 404


def test_import_page_shows_a_per_row_report(admin_pages):
    csv = b"name,phone\nGood One,0755000011\nBad One,99\n"
    response = admin_pages.post("/manage/members/import/",
                                {"file": SimpleUploadedFile("m.csv", csv, content_type="text/csv")})
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 added, 1 with errors" in text and "Bad One" in text


def test_audit_page_shows_who_what_and_before_after(admin_pages, org_admin):
    member = UserFactory(phone_number="+254755000020")
    admin_pages.post(f"/manage/members/{member.pk}/role/", {"role": "org_admin"})
    page = admin_pages.get("/manage/audit/")
    text = page.content.decode()
    # issue 16 item 20: a sentence, not the action code
    assert f"changed {member.display_name}&#x27;s role to admin" in text and "127.0.0.1" in text
    assert AuditEvent.objects.filter(action="user.role_changed").count() == 1


def test_leader_pages_need_login(tenant, org, client_for):
    for url in ("/manage/members/", "/manage/audit/", "/manage/members/import/"):
        response = client_for(org).get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_members_page_paginates_and_keeps_the_search(admin_pages):
    for n in range(55):
        UserFactory(phone_number=f"+2547560{n:05d}", name=f"Pager Person {n:02d}")
    first = admin_pages.get("/manage/members/?q=pager").content.decode()
    assert "Page 1 of 2" in first and 'href="?q=pager&amp;page=2"' in first
    second = admin_pages.get("/manage/members/?q=pager&page=2").content.decode()
    assert "Pager Person 54" in second and "Page 2 of 2" in second

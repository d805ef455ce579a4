"""Identity, notifications and the web shell together in a real browser: the OTP login read from
the file SMS backend, a CSV import with its per-row report, notification choices on the profile,
and the leader pages (members, audit, notifications) looking right on phones and desktops."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page) -> bool:
    """The page itself never scrolls sideways (wide tables scroll inside their own box)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_member_logs_in_with_the_code_from_the_sms(e2e_org, make_user, new_page, live_site, sms_to, shot):
    make_user(e2e_org, name="Akinyi", phone="+254712345678")
    page = new_page("mobile")
    page.goto(live_site.url(e2e_org, "/login/"))
    shot(page, "login")
    before = len(sms_to("+254712345678"))
    page.get_by_label("Phone number").fill("0712 345 678")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url(re.compile(r"step=code"))
    assert page.get_by_text("+254712345678").first.is_visible()
    messages = sms_to("+254712345678")
    assert len(messages) == before + 1
    code = re.search(r"\b(\d{6})\b", messages[-1]["message"]).group(1)
    page.get_by_label("Code from the SMS").fill(code)
    shot(page, "login-code")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_site.url(e2e_org, "/"))
    assert page.get_by_role("link", name=re.compile("Profile|Me", re.I)).count() or page.url.endswith("/")
    page.goto(live_site.url(e2e_org, "/profile/"))
    assert page.get_by_text("+254712345678").first.is_visible()  # signed in as that member
    assert page.console_errors == []


def test_admin_imports_members_and_sees_each_rows_result(e2e_org, new_page, live_site, with_db, shot):
    page = new_page("desktop", org=e2e_org, user=e2e_org.admin)
    page.goto(live_site.url(e2e_org, "/manage/members/"))
    csv = "name,phone\nWanjiku Kamau,0712000111\nOtieno Omondi,+254733000222\nNo Phone,12345\n".encode()
    page.get_by_label("CSV file", exact=True).set_input_files(files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": csv}])
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r"/manage/members/import/"))
    assert page.get_by_role("status").filter(has_text="2 added, 1 with errors.").is_visible()
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    assert "Added" in rows.nth(0).inner_text() and "Added" in rows.nth(1).inner_text()
    assert "No Phone" in rows.nth(2).inner_text() and "Added" not in rows.nth(2).inner_text()
    assert page.locator('.manage-nav a[aria-current="page"]').inner_text() == "Members"  # a sub-page of Members
    assert _no_sideways_scroll(page)
    shot(page, "manage-member-import")
    with with_db(e2e_org):
        from accounts.models import User

        assert set(User.objects.filter(phone_number__in=["+254712000111", "+254733000222"])
                   .values_list("name", flat=True)) == {"Wanjiku Kamau", "Otieno Omondi"}
    page.goto(live_site.url(e2e_org, "/manage/members/?q=Otieno"))
    assert page.get_by_role("cell", name="Otieno Omondi").is_visible()
    assert page.console_errors == []


def test_member_turns_sms_off_on_the_profile(e2e_org, make_user, new_page, live_site, with_db, shot):
    member = make_user(e2e_org)
    page = new_page("mobile", org=e2e_org, user=member)
    page.goto(live_site.url(e2e_org, "/profile/"))
    assert page.get_by_text("Login codes still come by SMS").is_visible()
    page.get_by_label("Send me SMS messages").uncheck()
    page.get_by_label("Reminders and announcements").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_url(live_site.url(e2e_org, "/profile/"))
    assert page.get_by_text("Your notification choices are saved.").is_visible()
    assert page.get_by_text("SMS messages are off.").is_visible()
    assert not page.get_by_label("Send me SMS messages").is_checked()
    with with_db(e2e_org):
        from notifications.models import NotificationPreference

        prefs = NotificationPreference.objects.get(user_id=member.pk)
        assert prefs.sms_opted_out and not prefs.reminders_enabled
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_leader_and_profile_pages_look_right(e2e_org, make_user, new_page, live_site, with_db, shot, viewport):
    member = make_user(e2e_org)
    with with_db(e2e_org):
        from accounts.services import audit_record

        for n in range(3):
            audit_record(actor=e2e_org.admin, action="user.role_changed", target=member,
                         before={"role": "member"}, after={"role": "org_admin" if n % 2 else "member"},
                         ip_address="197.248.1.10")
    pages = {"manage-members": (e2e_org.admin, "/manage/members/", "Members"),
             "manage-audit": (e2e_org.admin, "/manage/audit/", "Audit log"),
             "manage-notifications": (e2e_org.admin, "/manage/notifications/", "Notifications"),
             "profile": (member, "/profile/", None),
             "login": (None, "/login/", None)}
    for name, (user, path, nav) in pages.items():
        page = new_page(viewport, org=e2e_org if user else None, user=user)
        assert page.goto(live_site.url(e2e_org, path)).status == 200, name
        page.wait_for_load_state("networkidle")
        assert page.console_errors == [], (name, page.console_errors)
        assert _no_sideways_scroll(page), name
        if nav:
            nav_links = page.locator(".manage-nav a")
            assert nav_links.filter(has_text="Members").count() == 1
            assert nav_links.filter(has_text="Audit log").count() == 1
            assert nav_links.filter(has_text="Notifications").count() == 1
            assert page.locator('.manage-nav a[aria-current="page"]').inner_text() == nav
            logout = page.locator(".manage-nav form[data-logout]")
            assert logout.get_attribute("method") == "post"
            # the shell's look reached the identity/notifications pages: buttons are real buttons
            bg = page.locator("main .button, main button:not([class])").first.evaluate(
                "el => getComputedStyle(el).backgroundColor")
            assert bg not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)", "rgb(240, 240, 240)"), (name, bg)
        shot(page, name)


def test_leader_signs_out_from_the_dashboard(e2e_org, new_page, live_site):
    page = new_page("desktop", org=e2e_org, user=e2e_org.admin)
    page.goto(live_site.url(e2e_org, "/manage/audit/"))
    page.locator(".manage-nav").get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.goto(live_site.url(e2e_org, "/manage/audit/"))
    assert "/login/" in page.url

"""Member home and profile, the leader's settings page, error pages, the shell's branding."""

import re

import pytest

from tenants.services import organization_update


def test_home_needs_a_signed_in_member(client_for, org, db):
    response = client_for(org).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_home_empty_state(signed_in, member, active_challenge):
    html = signed_in(member).get("/").content.decode()  # a challenge exists, but this member joined none
    assert "You have not joined an active challenge yet" in html and "Weekly 500" not in html
    assert re.search(r"data-total>KES 0\.00<", html) and re.search(r"data-rank>–<", html)


def test_brand_colours_and_readable_text_reach_every_page(signed_in, member, org):
    organization_update(organization=org, data={"branding": {**org.branding, "primary_color": "#facc15"}})
    try:
        html = signed_in(member).get("/").content.decode()
        assert "--primary:#facc15" in html
        assert "--on-primary:#000000" in html  # dark text on a yellow header
        text = re.search(r"--primary-text:(#[0-9a-f]{6})", html).group(1)
        from tenants.branding import contrast_ratio

        assert contrast_ratio(text, "#ffffff") >= 4.5
    finally:
        organization_update(organization=org, data={"branding": {**org.branding, "primary_color": "#0f766e"}})


def test_profile_edits_name_and_language(signed_in, member):
    client = signed_in(member)
    assert member.account_code in client.get("/profile/").content.decode()
    response = client.post("/profile/", {"name": "Akinyi O.", "language": "sw"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.name, member.language) == ("Akinyi O.", "sw")
    from accounts.models import AuditEvent

    assert AuditEvent.objects.filter(action="user.profile_updated", target_id=str(member.pk)).exists()


def test_profile_rejects_an_unknown_language(signed_in, member):
    response = signed_in(member).post("/profile/", {"name": "X", "language": "fr"})
    assert response.status_code == 200 and b"errorlist" in response.content


def test_members_cannot_open_the_settings_page(signed_in, member):
    response = signed_in(member).get("/manage/settings/")
    assert response.status_code == 403
    assert b"You can't open this page" in response.content


def test_leader_changes_branding_and_members_see_it(signed_in, org_admin, member, org):
    admin = signed_in(org_admin)
    page = admin.get("/manage/settings/")
    assert page.status_code == 200 and b"Live preview" in page.content
    form = {
        "name": "Alpha Savers", "tagline": "Pamoja", "primary_color": "#7c3aed", "accent_color": "#22c55e",
        "language": "en", "sms_sender_id": "ALPHA", "time_zone": "Africa/Nairobi", "open_signup": "on",
        "points_per_kes": "2", "streak_multiplier": "1.5", "streak_threshold_days": "7",
        "streak_threshold_weeks": "1", "early_bird_bonus": "50", "early_bird_days": "3",
        "consistency_bonus": "100", "referral_bonus": "500", "freeze_every": "4", "goals_count": "on",
    }
    before = {"name": org.name, "branding": dict(org.branding), "scoring": dict(org.scoring), "open_signup": org.open_signup}
    try:
        response = admin.post("/manage/settings/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        html = signed_in(member).get("/").content.decode()
        assert "--primary:#7c3aed" in html and "Alpha Savers" in html and "Pamoja" in html
        org.refresh_from_db()
        assert org.scoring_rule("points_per_kes") == 2 and org.open_signup
        bad = admin.post("/manage/settings/", {**form, "primary_color": "purple", "time_zone": "Mars/Base"})
        assert bad.status_code == 200
        assert b"has-error" in bad.content
    finally:
        organization_update(organization=org, data=before)


def test_friendly_404_in_the_organizations_colours(client_for, org, db):
    response = client_for(org).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html and "--primary:#0f766e" in html and org.name in html


def test_500_page_renders_without_a_request():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "Your savings and payments are safe" in html


def test_manage_shell_tolerates_pages_not_merged_yet(signed_in, org_admin):
    html = signed_in(org_admin).get("/manage/settings/").content.decode()
    assert 'aria-label="Leader dashboard"' in html
    assert 'href="/manage/settings/" aria-current="page"' in html


def test_home_explains_paying_by_paybill_with_my_account_number(signed_in, member, tenant):
    from payments.services import mpesa_settings_update

    mpesa_settings_update(data={"shortcode": "600123", "shortcode_type": "paybill"})  # the leader's settings
    html = signed_in(member).get("/").content.decode()
    assert "Pay by M-Pesa Paybill" in html
    assert '<code class="big">600123</code>' in html and f'data-copy="{member.account_code}"' in html
    mpesa_settings_update(data={"shortcode": ""})
    assert "Pay by M-Pesa Paybill" not in signed_in(member).get("/").content.decode()


@pytest.mark.parametrize("path", ["/manage/", "/manage/members/", "/manage/anything/at/all"])
def test_the_whole_dashboard_is_for_org_admins_only(client_for, signed_in, member, org, path):
    anonymous = client_for(org).get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=/manage/")
    as_member = signed_in(member).get(path)
    assert as_member.status_code == 403 and b"leaders can open the dashboard" in as_member.content


def test_platform_host_404_renders_without_organization_parts(db, org):
    from django.test import Client

    response = Client(HTTP_HOST="localhost").get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html and "manifest.webmanifest" not in html

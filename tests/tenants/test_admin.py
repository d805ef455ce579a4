"""The platform owner creates, suspends and audits organizations from Django admin on the public host."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import AuditEvent, User
from tenants.models import Organization


@pytest.fixture
def owner_client(db, org):
    owner = User.objects.create_superuser("+254799000001", password="a-long-platform-password")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    return client


def test_owner_creates_an_org_that_answers_on_its_subdomain(owner_client):
    response = owner_client.post("/admin/tenants/organization/add/", {
        "name": "Tatu Chama", "slug": "tatu", "type": "chama", "subscription_tier": "starter",
        "admin_phone": "0722 111 222", "admin_name": "Mama Tatu", "extra_domains": "", "shortcode": "600333",
    })
    assert response.status_code == 302, response.content[:2000]
    org = Organization.objects.get(slug="tatu")
    assert org.subscription_tier == "starter"
    with schema_context(org.schema_name):
        assert User.objects.get().role == "org_admin"
    assert Client(HTTP_HOST="tatu.localhost").get("/healthz").json()["status"] == "ok"
    assert Client(HTTP_HOST="tatu.localhost").get("/api/v1/nothing-here").status_code == 404
    # audited twice: Django's admin log and our own audit trail (both in public)
    connection.set_schema_to_public()
    assert LogEntry.objects.filter(object_repr="Tatu Chama").exists()
    assert AuditEvent.objects.filter(action="organization.created", target_id=str(org.pk)).exists()


def test_bad_phone_in_admin_form_is_a_field_error_and_creates_nothing(owner_client):
    response = owner_client.post("/admin/tenants/organization/add/", {
        "name": "Nne", "slug": "nne", "type": "chama", "subscription_tier": "free", "admin_phone": "12",
    })
    assert response.status_code == 200
    assert b"9 digits" in response.content
    assert not Organization.objects.filter(slug="nne").exists()


def test_owner_suspends_from_the_list_action(owner_client, org):
    response = owner_client.post("/admin/tenants/organization/", {
        "action": "suspend", "_selected_action": [org.pk],
    })
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.is_suspended
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 403
    connection.set_schema_to_public()
    assert AuditEvent.objects.filter(action="organization.updated", target_id=str(org.pk),
                                     actor_label="platform:+254799000001").exists()
    Organization.objects.filter(pk=org.pk).update(subscription_status="active")
    from tenants.services import organization_cache_clear

    organization_cache_clear(organization=org)


def test_org_list_and_change_pages_render(owner_client, org):
    assert b"Alpha Chama" in owner_client.get("/admin/tenants/organization/").content
    page = owner_client.get(f"/admin/tenants/organization/{org.pk}/change/")
    assert page.status_code == 200 and b"alpha.localhost" in page.content


def test_admin_add_form_offers_no_platform_type_and_fills_the_slug_from_the_name(owner_client):
    """Issue 16 item 23: the Organization type never offers "Platform (public schema)"; the slug follows the name."""
    html = owner_client.get("/admin/tenants/organization/add/").content.decode()
    assert 'value="chama"' in html and 'value="platform"' not in html and "Platform (public schema)" not in html
    assert "prepopulated" in html and "id_slug" in html
    org = Organization.objects.exclude(schema_name="public").first()
    change = owner_client.get(f"/admin/tenants/organization/{org.pk}/change/").content.decode()
    assert 'value="platform"' not in change
    refused = owner_client.post("/admin/tenants/organization/add/", {
        "name": "Nne", "slug": "nne", "type": "platform", "subscription_tier": "starter", "admin_phone": "0722 111 444"})
    assert refused.status_code == 200 and not Organization.objects.filter(slug="nne").exists()


def test_admin_index_lists_only_what_works_here_and_favicon_answers(owner_client):
    """Item 23: no "Not available for global schema" sections (tenant-only models are not on this admin);
    /favicon.ico is no longer a 404 on every admin page."""
    html = owner_client.get("/admin/").content.decode()
    assert "Not available for" not in html and "/admin/payments/" not in html and "token_blacklist" not in html
    from django.contrib.staticfiles import finders

    favicon = owner_client.get("/favicon.ico")
    assert favicon.status_code == 302 and favicon["Location"].endswith("/img/platform-favicon.svg")
    assert "<svg" in open(finders.find("img/platform-favicon.svg")).read()  # whitenoise serves it


def test_change_page_edits_branding_and_scoring_as_typed_fields_not_json(owner_client, org):
    """Item 23: no raw JSON boxes: colours are colour pickers (<input type=color>), each scoring rule a number
    field bounded by the game's limits, the rest of the branding typed fields."""
    import re

    html = owner_client.get(f"/admin/tenants/organization/{org.pk}/change/").content.decode()
    assert 'name="branding"' not in html and 'name="scoring"' not in html
    for name in ("primary_color", "accent_color"):
        assert re.search(rf'<input type="color" name="{name}" value="#[0-9a-f]{{6}}"', html), name
    points = re.search(r'<input type="number" name="points_per_kes"[^>]*>', html).group(0)
    assert 'min="0' in points and 'max="100' in points
    assert re.search(r'<input type="number" name="referral_bonus" value="\d+"[^>]*max="100000"', html)
    assert 'name="tagline"' in html and 'name="sms_sender_id"' in html and 'name="language"' in html


def _admin_form(org, **changes):
    """The change page's form as the admin builds it (its fieldsets, read-only fields left out), filled in."""
    from django.contrib import admin
    from django.test import RequestFactory

    from web.forms import OrganizationAdminForm

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[Organization].get_form(request, org)
    assert issubclass(form_class, OrganizationAdminForm)
    data = {"name": org.name, "type": org.type, "subscription_tier": org.subscription_tier,
            "subscription_status": org.subscription_status, "time_zone": org.time_zone, "open_signup": "",
            "ussd_service_code": org.ussd_service_code or "", "sms_shortcode": org.sms_shortcode or "",
            **OrganizationAdminForm.branding_initial(org), **OrganizationAdminForm.scoring_initial(org)}
    data["goals_count"] = "on" if data["goals_count"] else ""
    data.update(changes)
    return form_class(data={k: v for k, v in data.items() if v is not None}, instance=org)


def test_admin_form_refuses_a_bad_colour_or_a_rule_out_of_bounds_naming_the_field(db, org):
    form = _admin_form(org, primary_color="red", points_per_kes="1000", early_bird_days="-1", sms_sender_id="Too long id!")
    assert not form.is_valid()
    assert set(form.errors) >= {"primary_color", "points_per_kes", "early_bird_days", "sms_sender_id"}
    assert "#0f766e" in form.errors["primary_color"][0]


def test_admin_form_stores_the_same_json(db, org):
    from tenants.models import Organization

    before = Organization.objects.get(pk=org.pk)
    form = _admin_form(org, primary_color="#7C3AED", tagline="Pamoja", points_per_kes="2", referral_bonus="750")
    assert form.is_valid(), form.errors
    try:
        form.settings_save(organization=before, actor_label="platform:test")
        after = Organization.objects.get(pk=org.pk)
        assert set(after.branding) == set(before.branding) | {"language"}
        assert (after.branding["primary_color"], after.branding["tagline"]) == ("#7c3aed", "Pamoja")
        assert after.branding["accent_color"] == before.brand("accent_color")
        assert set(after.scoring) >= set(before.scoring)
        assert (after.scoring["points_per_kes"], after.scoring["referral_bonus"]) == (2, 750)
    finally:
        Organization.objects.filter(pk=org.pk).update(branding=before.branding, scoring=before.scoring)
        from tenants.services import organization_cache_clear

        organization_cache_clear(organization=before)


def test_admin_form_checks_the_logo_like_the_leaders_upload(db, org):
    """Item 23: the logo is checked (at most 1 MB, a real image) and stored under its sniffed type."""
    import io
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from tenants.models import Organization

    def png(size):
        out = io.BytesIO()
        Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, format="PNG")
        return out.getvalue()

    big = _admin_form(org)
    big.files = {"logo": SimpleUploadedFile("big.png", png(800), content_type="image/png")}
    assert not big.is_valid() and "1 MB" in big.errors["logo"][0]
    small = _admin_form(org)
    small.files = {"logo": SimpleUploadedFile("logo.jpg", png(32), content_type="image/jpeg")}  # a PNG named .jpg
    assert small.is_valid(), small.errors
    before = Organization.objects.get(pk=org.pk)
    try:
        small.settings_save(organization=before, actor_label="platform:test")
        assert Organization.objects.get(pk=org.pk).logo.name.endswith(".png")
    finally:
        Organization.objects.filter(pk=org.pk).update(logo=before.logo.name, branding=before.branding,
                                                      scoring=before.scoring)
        from tenants.services import organization_cache_clear

        organization_cache_clear(organization=before)

"""Scoring rules are validated by gamification's scoring_rules_validate on the API and the settings
page alike (errors name the rule); the platform badge catalogue validates criteria with criteria_validate."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.web.test_organization_api import admin_api, restore_org  # noqa: F401  (fixtures)

SETTINGS_FORM = {
    "name": "Alpha Chama", "tagline": "", "primary_color": "#0f766e", "accent_color": "#f59e0b",
    "language": "en", "sms_sender_id": "", "time_zone": "Africa/Nairobi",
    "points_per_kes": "1", "streak_multiplier": "1.5", "streak_threshold_days": "7",
    "streak_threshold_weeks": "4", "early_bird_bonus": "50", "early_bird_days": "3",
    "consistency_bonus": "100", "referral_bonus": "500", "freeze_every": "4", "goals_count": "on",
}


@pytest.mark.parametrize("rule, value, message", [
    ("points_per_kes", 500, "must be between 0 and 100."),
    ("streak_threshold_weeks", 60, "must be between 0 and 53."),
    ("early_bird_bonus", 100_001, "must be between 0 and 100000."),
])
def test_api_patch_rejects_a_rule_outside_gamification_limits(admin_api, org, restore_org, rule, value, message):
    response = admin_api.patch("/api/v1/organizations/current", {"scoring": {rule: value}}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"scoring": {rule: [message]}}
    org.refresh_from_db()
    assert org.scoring_rule(rule) != value


def test_api_patch_accepts_rules_inside_the_limits(admin_api, org, restore_org):
    response = admin_api.patch("/api/v1/organizations/current", {"scoring": {"points_per_kes": 100}}, format="json")
    assert response.status_code == 200 and response.json()["scoring"]["points_per_kes"] == 100


def test_settings_page_shows_the_rule_error_on_its_field(signed_in, org_admin, org, restore_org):
    admin = signed_in(org_admin)
    response = admin.post("/manage/settings/", {**SETTINGS_FORM, "points_per_kes": "500"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["points_per_kes"] == ["must be between 0 and 100."]
    org.refresh_from_db()
    assert org.scoring_rule("points_per_kes") != 500
    ok = admin.post("/manage/settings/", {**SETTINGS_FORM, "points_per_kes": "3"})
    assert ok.status_code == 302
    org.refresh_from_db()
    assert org.scoring_rule("points_per_kes") == 3


def test_system_badge_admin_validates_criteria(db, org):
    from accounts.models import User
    from tenants.models import SystemBadge

    with schema_context("public"):
        superuser = User.objects.create_superuser("+254700999998", password="x-very-secret-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(superuser)
    form = {"slug": "integ-seam-badge", "name": "Seam badge", "name_sw": "", "description": "Saved a lot",
            "description_sw": "", "icon": "🏆", "rarity": "rare", "is_active": "on"}
    bad = client.post("/admin/tenants/systembadge/add/", {**form, "criteria": '{"metric": "nope", "gte": 1}'})
    assert bad.status_code == 200
    assert bad.context["adminform"].form.errors["criteria"]
    with schema_context("public"):
        assert not SystemBadge.objects.filter(slug="integ-seam-badge").exists()
    good = client.post("/admin/tenants/systembadge/add/",
                       {**form, "criteria": '{"metric": "total_saved", "gte": 50000}'})
    assert good.status_code == 302, good.context["adminform"].form.errors if good.context else good
    with schema_context("public"):
        assert SystemBadge.objects.filter(slug="integ-seam-badge").exists()

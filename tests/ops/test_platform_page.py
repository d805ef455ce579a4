"""The platform owner's health page in Django admin: one row per organization."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db


def test_platform_health_lists_each_organization_with_its_figures(org, other_org):
    from payments.models import CallbackInbox
    from payments.platform.models import RefusedCallback

    connection.set_tenant(org)
    for key in ("A1", "A2", "A3"):
        CallbackInbox.objects.create(kind="confirmation", natural_key=key, payload={}, state="processed")
    connection.set_schema_to_public()
    RefusedCallback.objects.create(organization=org, kind="confirmation", reason="bad_json", status_code=400)
    owner = get_user_model().objects.create_superuser(phone_number="+254700999002", password="pw-12345678")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    response = client.get("/admin/payments_watch/platformhealth/")
    assert response.status_code == 200
    rows = {row.organization.slug: row for row in response.context["rows"]}
    assert rows[org.slug].stored_24h == 3 and rows[org.slug].refused_24h == 1
    assert rows[org.slug].webhook_success_rate == 0.75
    assert rows[other_org.slug].webhook_success_rate is None
    html = response.content.decode()
    assert "Platform health" in html and "75%" in html


def test_platform_health_is_for_staff_only(org):
    response = Client(HTTP_HOST="localhost").get("/admin/payments_watch/platformhealth/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

"""An organization owns its USSD code and SMS shortcode (public schema): set by create_org and Django
admin, unique, validated, and what routes Africa's Talking's callbacks on the platform host."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_tenants.utils import schema_exists

from tenants.models import Organization
from tenants.services import organization_update
from tests.ussd.conftest import SERVICE_CODE, UssdPhone


def test_create_org_takes_a_ussd_code_and_an_sms_shortcode(db):
    call_command("create_org", "--slug", "kilimo", "--name", "Kilimo Chama", "--type", "sacco",
                 "--admin-phone", "0712345678", "--ussd-code", "*384*55#", "--sms-shortcode", "22055",
                 stdout=StringIO())
    org = Organization.objects.get(slug="kilimo")
    assert (org.ussd_service_code, org.sms_shortcode) == ("*384*55#", "22055")


@pytest.mark.parametrize("args,reason", [
    (["--ussd-code", "384"], "USSD code such as *384*123#"),
    (["--ussd-code", "*384*123#"], "belongs to another organization"),
    (["--sms-shortcode", "22 384"], "digits only"),
    (["--sms-shortcode", "22384"], "belongs to another organization"),
])
def test_create_org_refuses_a_bad_or_taken_code_with_one_line(feature_org, args, reason):
    from django.db import connection

    connection.set_schema_to_public()
    with pytest.raises(CommandError) as excinfo:
        call_command("create_org", "--slug", "fresh", "--name", "Fresh", "--type", "chama",
                     "--admin-phone", "0712345678", *args)
    assert reason in str(excinfo.value) and "\n" not in str(excinfo.value)
    assert not schema_exists("org_fresh")


def test_codes_are_unique_between_organizations(feature_org, other_org):
    with pytest.raises(ValidationError, match="belongs to another organization"):
        organization_update(organization=other_org, data={"ussd_service_code": SERVICE_CODE})
    organization_update(organization=other_org, data={"ussd_service_code": "*384*999#"})  # a free one is fine


def test_admin_shows_the_feature_phone_fields(db, feature_org):
    from django.db import connection

    from accounts.models import User

    connection.set_schema_to_public()  # the platform owner lives in public
    owner = User.objects.create_superuser("+254799000001", password="a-long-platform-password")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    page = client.get(f"/admin/tenants/organization/{feature_org.pk}/change/")
    assert page.status_code == 200
    assert b'name="ussd_service_code"' in page.content and b'value="*384*123#"' in page.content
    assert b'name="sms_shortcode"' in page.content


def test_a_moved_code_routes_to_its_new_owner_at_once_in_this_process(ussd_phone, saver, feature_org, other_org):
    assert "Alpha Chama" in ussd_phone().dial()
    organization_update(organization=feature_org, data={"ussd_service_code": ""})
    organization_update(organization=other_org, data={"ussd_service_code": SERVICE_CODE})
    phone = UssdPhone()
    phone.session_id = "ATUid_moved"
    body = phone.post(phone.payload("")).content.decode()
    assert "Beta SACCO" in body and "not registered" in body  # Jane is Alpha's member, not Beta's


def test_platform_hooks_other_than_africastalkings_are_a_bare_404(db, org):
    client = Client(HTTP_HOST="localhost")
    assert client.post("/hooks/pay/x/c2b/confirmation", "{}", content_type="application/json").status_code == 404
    assert client.post("/hooks/nothing/").status_code == 404
    response = client.post("/hooks/ussd/", {"sessionId": "x"})
    assert response.status_code == 400 and not response.cookies  # the lean path: no session or CSRF cookie

"""The local stand-ins play Africa's Talking against a running server: real HTTP, AT's format."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django_tenants.utils import schema_context

from tests.payments.live import live_server


@pytest.fixture
def served(committed_org):
    """A committed organization with a USSD code, a shortcode and one member, and a live server."""
    from accounts.services import user_create
    from tenants.services import organization_update

    org = organization_update(organization=committed_org,
                              data={"ussd_service_code": "*384*777#", "sms_shortcode": "22777"})
    with schema_context(org.schema_name):
        user_create(phone_number="+254708111333", name="Stand In")
    connection.set_schema_to_public()
    with live_server() as port:
        yield org, f"http://localhost:{port}"
    connections.close_all()


def test_ussd_session_plays_a_session_over_http(served):
    org, url = served
    out = io.StringIO()
    call_command("ussd_session", org=org.slug, phone="0708111333", url=url, press=["5", "2", "2"], stdout=out)
    text = out.getvalue()
    assert f"Dialling *384*777# from 0708111333 ({url}/hooks/ussd/)" in text
    assert "1. My savings & points" in text and "1. English\n2. Kiswahili" in text
    assert "Lugha imewekwa: Kiswahili." in text and "(session ended)" in text
    with schema_context(org.schema_name):
        from ussd.models import UssdSession

        assert UssdSession.objects.get().network_code == "63902"


def test_sms_inbound_sends_a_command_and_prints_the_reply(served):
    org, url = served
    out = io.StringIO()
    call_command("sms_inbound", "BAL", org=org.slug, phone="0708111333", url=url, wait=5, stdout=out)
    text = out.getvalue()
    assert "0708111333 -> 22777: 'BAL'  [200 OK]" in text
    assert f"22777 -> 0708111333: {org.name}: Saved: KES 0. Points: 0." in text


def test_stand_ins_explain_what_is_missing(db, org):
    with pytest.raises(CommandError, match="has no USSD code"):
        call_command("ussd_session", org=org.slug, phone="0708111333", press=[])
    with pytest.raises(CommandError, match="No organization"):
        call_command("sms_inbound", "BAL", org="nobody", phone="0708111333")

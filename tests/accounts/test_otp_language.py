"""The login code SMS speaks the member's language and uses the organization's own wording of the
"otp" template (notifications), on the site's /login/ and on the API."""

from __future__ import annotations

from accounts.factories import UserFactory
from tests.accounts.conftest import code_from


def test_kiswahili_member_gets_a_kiswahili_code_on_the_site(tenant, org, client_for, sms_outbox):
    UserFactory(phone_number="+254745000001", language="sw")
    client = client_for(org)
    assert client.post("/login/", {"phone_number": "0745000001"}).status_code == 302
    sms = sms_outbox()[-1]
    assert sms["to"] == "+254745000001"
    code = code_from(sms)
    assert sms["message"] == (f"Nambari yako ya {org.name} ni {code}. Itaisha baada ya dakika 5. "
                              "Usimpe mtu yeyote.")
    assert client.post("/login/?step=code", {"code": code}).status_code == 302  # and it works


def test_english_member_and_unknown_numbers_follow_the_organization(tenant, org, api_client_for, sms_outbox):
    UserFactory(phone_number="+254745000002", language="en")
    client = api_client_for(org)
    assert client.post("/api/v1/auth/send-otp", {"phone_number": "0745000002"}, format="json").status_code == 202
    assert sms_outbox()[-1]["message"].startswith(f"Your {org.name} code is ")

    UserFactory(phone_number="+254745000003", language="")  # no choice: the organization's language
    assert client.post("/api/v1/auth/send-otp", {"phone_number": "0745000003"}, format="json").status_code == 202
    expected = "Nambari yako ya" if org.language == "sw" else f"Your {org.name} code is "
    assert sms_outbox()[-1]["message"].startswith(expected)


def test_the_organizations_edited_wording_is_used(tenant, org, org_admin, api_client_for, sms_outbox):
    admin = api_client_for(org)
    admin.force_authenticate(org_admin)
    body = "{org}: tumia {code} kuingia. Dakika {minutes} tu."
    saved = admin.put("/api/v1/notification-templates/otp/sw", {"title": "Kuingia", "body": body}, format="json")
    assert saved.status_code == 200, saved.content
    UserFactory(phone_number="+254745000004", language="sw")
    assert api_client_for(org).post("/api/v1/auth/send-otp", {"phone_number": "0745000004"},
                                    format="json").status_code == 202
    sms = sms_outbox()[-1]
    assert sms["message"] == f"{org.name}: tumia {code_from(sms)} kuingia. Dakika 5 tu."

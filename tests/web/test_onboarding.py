"""Issue 16 item 21: a new organization's first admin is sent from the site root to /manage/, whose
checklist ticks from the real state; Save now stays hidden (and the API refuses it clearly) until the
organization's M-Pesa works; the overview and the members page count members the same way."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils import timezone

STEPS = ["branding", "mpesa", "challenge", "members", "test_payment"]


def _ticked(html: str) -> dict[str, bool]:
    return {key: state == "done" for state, key in re.findall(r'<li class="(done|todo)" data-step="(\w+)">', html)}


def _mpesa_off():
    """The organization has no shortcode yet (as a new one made without --shortcode)."""
    from payments.models import MpesaSettings
    from payments.selectors import organization_paybill_forget

    MpesaSettings.objects.update(shortcode="", consumer_key="", consumer_secret="", passkey="")
    organization_paybill_forget()


def test_the_first_admin_lands_on_the_checklist_not_the_member_home(tenant, leader):
    response = leader.get("/")
    assert response.status_code == 302 and response["Location"] == "/manage/"
    html = leader.get("/manage/").content.decode()
    assert "Set up your group" in html and list(_ticked(html)) == STEPS
    # the dashboard's "Member site" link opens the member home on purpose, and it stays open
    assert leader.get("/?site=member").status_code == 200
    assert leader.get("/").status_code == 200
    assert leader.get("/?site=everything").status_code == 400


def test_each_step_ticks_from_the_real_state(tenant, leader, org, org_admin):
    from accounts.services import user_create
    from challenges.services import challenge_create, challenge_update
    from payments.models import Transaction
    from tenants.services import organization_update

    _mpesa_off()
    assert _ticked(leader.get("/manage/").content.decode()) == dict.fromkeys(STEPS, False)
    organization_update(organization=org, data={"branding": {**org.branding, "primary_color": "#7c3aed"}})
    from payments.services import mpesa_settings_update

    mpesa_settings_update(data={"shortcode": "600111", "consumer_key": "k", "consumer_secret": "s", "passkey": "p"},
                          actor=org_admin)
    challenge = challenge_create(actor=org_admin, name="Weekly 500", type="fixed_amount",
                                 target={"amount": "500", "frequency": "weekly"}, duration_days=28,
                                 start_date=timezone.localdate(), status="draft")
    ticked = _ticked(leader.get("/manage/").content.decode())
    assert ticked == {"branding": True, "mpesa": True, "challenge": False, "members": False, "test_payment": False}
    challenge_update(challenge=challenge, actor=org_admin, data={"status": "active"})  # published, not a draft
    user_create(phone_number="+254712500001", name="First Member")
    Transaction.objects.create(user=org_admin, amount=Decimal("1"), status="verified", source="stk",
                               transaction_id="SIMTEST001", mpesa_receipt="SIMTEST001", transacted_at=timezone.now(),
                               verified_at=timezone.now())
    html = leader.get("/manage/").content.decode()
    assert "Set up your group" not in html  # all done: the checklist steps aside
    assert leader.get("/").status_code == 200  # and the site root is the member home again


def test_save_now_is_hidden_until_mpesa_works(tenant, signed_in, api_client_for, org):
    from accounts.authentication import tokens_for_user
    from accounts.services import user_create
    from payments.models import Transaction

    member = user_create(phone_number="+254712500002", name="Early Member")
    client = signed_in(member)
    assert 'href="/save/"' in client.get("/").content.decode()  # M-Pesa works in the test organization
    _mpesa_off()
    home = client.get("/").content.decode()
    assert 'href="/save/"' not in home and "data-save-closed" in home  # neither the button nor the nav tab
    assert 'href="/save/"' not in client.get("/transactions/").content.decode()
    page = client.get("/save/").content.decode()
    assert 'name="amount"' not in page and "not open yet" in page
    posted = client.post("/save/", {"amount": "100"})
    assert posted.status_code == 409 and "not open yet" in posted.content.decode()
    api = api_client_for(org)
    api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(member)["access"])
    refused = api.post("/api/v1/transactions/stk-push", {"amount": 100}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "mpesa_not_ready"
    assert "not set up" in refused.json()["detail"]
    assert Transaction.objects.filter(source="stk").count() == 0  # nothing was started


def test_the_overview_and_the_members_page_count_members_alike(tenant, leader):
    from accounts.services import user_create

    def counts():
        overview = leader.get("/manage/").content.decode()
        kpi = re.search(r'<span class="label">Members</span><span class="value">(\d+)</span>', overview).group(1)
        members = leader.get("/manage/members/").content.decode()
        caption = re.search(r'<p class="member-counts">(\d+) members?', members).group(1)
        return int(kpi), int(caption)

    assert counts() == (0, 0)  # the first admin alone: "0 members · 1 leader" beside "Members 0"
    assert "1 leader" in leader.get("/manage/members/").content.decode()
    user_create(phone_number="+254712500003", name="Second")
    assert counts() == (1, 1)

"""Save now: a member tags a deposit only to a challenge they joined (joining is its own, explicit step)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from payments.models import Transaction
from tests.payments.test_stk_push import simulator  # noqa: F401  (fixture)


@pytest.fixture
def challenges(tenant, org_admin):
    from challenges.services import challenge_create, local_today

    made = []
    for name in ("Joined", "Not joined"):
        c = challenge_create(actor=org_admin, name=name, type="fixed_amount",
                             target={"amount": "100", "frequency": "weekly"}, duration_days=28,
                             start_date=local_today() - timedelta(days=1), status="draft")
        c.status = "active"
        c.save(update_fields=["status"])
        made.append(c)
    return made


def test_api_tags_a_joined_challenge_and_refuses_another(api_client_for, org, member, simulator, challenges):
    from challenges.services import participant_join

    joined, other = challenges
    participant_join(challenge=joined, user=member)
    api = api_client_for(org)
    api.force_authenticate(member)
    refused = api.post("/api/v1/transactions/stk-push", {"amount": "150", "challenge": other.pk}, format="json")
    assert refused.status_code == 400 and "challenge" in refused.json(), refused.content
    connection.set_tenant(org)
    assert not Transaction.objects.filter(user=member).exists()  # nothing pending, nothing sent to Daraja
    assert not [c for c in simulator.calls if c[0].endswith("processrequest")]
    accepted = api.post("/api/v1/transactions/stk-push", {"amount": "150", "challenge": joined.pk}, format="json")
    assert accepted.status_code == 202, accepted.content
    connection.set_tenant(org)
    tx = Transaction.objects.get(pk=accepted.json()["id"])
    assert tx.challenge_id == joined.pk and tx.bill_ref_number == member.account_code + joined.code


def test_page_offers_only_joined_challenges_and_refuses_a_forged_one(client_for, org, member, simulator, challenges):
    from challenges.services import participant_join

    joined, other = challenges
    participant_join(challenge=joined, user=member)
    client = client_for(org)
    client.force_login(member)
    html = client.get("/save/").content.decode()
    assert f'<option value="{joined.pk}">Joined</option>' in html and "Not joined" not in html
    forged = client.post("/save/", {"amount": "200", "challenge": str(other.pk)})
    assert forged.status_code == 400 and "Join this challenge" in forged.content.decode()
    connection.set_tenant(org)
    assert not Transaction.objects.filter(user=member).exists()
    ok = client.post("/save/", {"amount": "200", "challenge": str(joined.pk)})
    assert ok.status_code == 302
    connection.set_tenant(org)
    assert Transaction.objects.get(user=member).challenge_id == joined.pk


def test_api_refuses_a_challenge_the_member_already_failed(api_client_for, org, member, simulator, challenges):
    from challenges.models import Participant
    from challenges.services import participant_join

    joined, _other = challenges
    participant_join(challenge=joined, user=member)
    Participant.objects.filter(user=member).update(status=Participant.Status.FAILED)
    api = api_client_for(org)
    api.force_authenticate(member)
    refused = api.post("/api/v1/transactions/stk-push", {"amount": "150", "challenge": joined.pk}, format="json")
    assert refused.status_code == 400 and "challenge" in refused.json(), refused.content


def test_retry_after_a_cancelled_prompt_keeps_the_amount_and_the_challenge(client_for, org, member, challenges):
    """Issue 16.16: 'Make another payment' after a cancelled push started again from an empty form."""
    from challenges.services import participant_join

    joined, _other = challenges
    participant_join(challenge=joined, user=member)
    cancelled = Transaction.objects.create(source="stk", amount="350", user=member, challenge=joined, status="failed",
                                           phone_number=member.phone_number, result_desc="Request cancelled by user")
    client = client_for(org)
    client.force_login(member)
    html = client.get(f"/save/?tx={cancelled.pk}").content.decode()
    assert 'name="amount"' in html and 'value="350"' in html
    assert f'<option value="{joined.pk}" selected>' in html
    history = client.get("/transactions/").content.decode()
    assert 'href="/statement/"' in history  # the monthly statement is one tap from History

"""A callback with the right secret is still checked (issue 14, item 8): the org's own shortcode,
Daraja's real amount range, and transaction-status results only for queries we sent. Each is
refused at once and recorded; nothing is answered 200 and then stuck."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import CallbackInbox, StatusQuery, Transaction
from payments.platform.models import RefusedCallback
from tests.payments.conftest import c2b_payload, status_result_payload, stk_success_payload

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def _refused(org):
    return list(RefusedCallback.objects.filter(organization_id=org.pk).values_list("reason", "status_code", "detail"))


@pytest.fixture
def org_shortcode(mpesa):
    mpesa.shortcode = "600000"
    mpesa.save(update_fields=["shortcode"])
    return mpesa.shortcode


@pytest.mark.parametrize("kind", ["confirmation", "validation"])
def test_another_businesss_shortcode_is_refused_and_recorded(hook, org, member, org_shortcode, kind):
    response = hook(kind, c2b_payload(trans_id="RKTSHORT01", bill_ref=member.account_code, shortcode="999999"))
    assert response.status_code == 400
    assert not CallbackInbox.objects.exists() and not Transaction.objects.exists()
    ((reason, status, detail),) = _refused(org)
    assert (reason, status) == ("bad_payload", 400) and "BusinessShortCode" in detail


def test_the_orgs_own_shortcode_is_credited(hook, member, org_shortcode):
    assert hook("confirmation", c2b_payload(trans_id="RKTSHORT02", bill_ref=member.account_code)).json() == ACCEPTED
    assert Transaction.objects.get(transaction_id="RKTSHORT02").status == "verified"


@pytest.mark.parametrize("amount", ["0.50", "250000.01", "1e10", "10000000000", "99999999999999999999.99"])
def test_amounts_outside_darajas_range_are_refused_not_stuck(hook, org, member, amount):
    response = hook("confirmation", c2b_payload(trans_id="RKTAMT0001", amount=amount, bill_ref=member.account_code))
    assert response.status_code == 400
    assert not CallbackInbox.objects.exists() and not Transaction.objects.exists()
    assert [r[0] for r in _refused(org)] == ["bad_payload"]


def test_stk_amount_outside_the_range_is_refused(hook, org):
    response = hook("stk_callback", stk_success_payload(checkout="ws_CO_BIG", receipt="RKTBIGSTK1", amount=10**10))
    assert response.status_code == 400 and not CallbackInbox.objects.exists()


@pytest.mark.parametrize("amount", ["1", "250000", "250000.00"])
def test_the_edges_of_the_range_are_credited(hook, member, amount, settings):
    assert settings.MPESA_MAX_AMOUNT == Decimal("250000")
    assert hook("confirmation", c2b_payload(trans_id=f"RKTEDGE{amount[:3]}", amount=amount,
                                            bill_ref=member.account_code)).json() == ACCEPTED


def test_a_status_result_for_a_query_we_never_sent_is_refused_and_credits_nothing(hook, org, member):
    hook("validation", c2b_payload(trans_id="RKTNOASK01", amount="75", bill_ref=member.account_code))
    response = hook("result", status_result_payload(conversation="AG_NEVER_ASKED", receipt="RKTNOASK01", amount=75))
    assert response.status_code == 400
    assert not Transaction.objects.exists() and not CallbackInbox.objects.filter(kind="result").exists()
    assert "bad_payload" in [r[0] for r in _refused(org)]


def test_a_status_result_for_a_query_we_sent_still_credits(hook, member):
    hook("validation", c2b_payload(trans_id="RKTASKED01", amount="75", bill_ref=member.account_code))
    StatusQuery.objects.create(conversation_id="AG_ASKED_1", trans_id="RKTASKED01")
    assert hook("result", status_result_payload(conversation="AG_ASKED_1", receipt="RKTASKED01", amount=75)).json() == ACCEPTED
    assert Transaction.objects.get(transaction_id="RKTASKED01").amount == Decimal("75.00")

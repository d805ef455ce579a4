"""Save now by USSD and by SMS ends in a verified, scored deposit: the Celery task pushes to the Daraja
simulator, and the simulator's own STK callback is posted to the organization's hook."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import connection

from challenges.models import ScoredDeposit
from payments.models import Transaction


def _settle(simulator, hook, org, tx) -> Transaction:
    """Wait for the simulator to decide the push, then deliver its callback body as Daraja would."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        checkout = simulator.state.checkouts.get(tx.checkout_request_id)
        if checkout is not None and checkout.result_code is not None:
            break
        time.sleep(0.05)
    assert hook("stk_callback", simulator.stk_body(checkout)).json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    connection.set_tenant(org)
    tx.refresh_from_db()
    return tx


@pytest.mark.parametrize("language", ["en", "sw"])
def test_save_now_by_ussd_ends_in_a_verified_scored_deposit(ussd_phone, saver, live_challenge, simulator, hook,
                                                            eager_celery, scored, feature_org, language):
    from challenges.models import Participant
    from challenges.services import participant_join

    saver.language = language
    saver.save(update_fields=["language"])
    challenge = live_challenge()
    participant_join(challenge=challenge, user=saver)
    phone = ussd_phone()
    body = phone.run("4", "750", "1")
    assert body == {"en": "END You will get an M-Pesa prompt for KES 750. Enter your M-Pesa PIN to save.",
                    "sw": "END Utapokea ombi la M-Pesa la KES 750. Weka PIN yako ya M-Pesa kuweka akiba."}[language]
    connection.set_tenant(feature_org)
    tx = Transaction.objects.get()  # pushed from the task, after the callback had answered
    assert (tx.status, tx.amount, tx.user, tx.challenge, tx.source) == (
        "pending", Decimal("750.00"), saver, challenge, "stk")
    (path, sent), = [c for c in simulator.calls if c[0].endswith("processrequest")]
    assert sent["PhoneNumber"] == "254708374149" and sent["Amount"] == 750
    tx = _settle(simulator, hook, feature_org, tx)
    assert tx.status == "verified" and tx.mpesa_receipt
    assert scored == [tx.pk] and ScoredDeposit.objects.filter(transaction_id=tx.pk).exists()
    participant = Participant.objects.get(challenge=challenge, user=saver)
    assert participant.total_contributed == Decimal("750.00") and participant.points >= 750
    # the member's savings screen now shows it
    assert "KES 750" in ussd_phone().run("1")


def test_save_by_sms_ends_in_a_verified_scored_deposit(sms_in, saver, simulator, hook, eager_celery, scored,
                                                       feature_org):
    sms_in("SAVE 250", provider_id="ATXid_e2e")
    tx = _settle(simulator, hook, feature_org, Transaction.objects.get())
    assert (tx.status, tx.amount, tx.source) == ("verified", Decimal("250.00"), "stk") and scored == [tx.pk]
    sms_in("SAVE 250", provider_id="ATXid_e2e")  # the same message again: no second prompt
    assert Transaction.objects.count() == 1


def test_the_push_task_pushes_once_per_request_even_if_redelivered(saver, simulator, feature_org):
    from ussd.services import save_now_push

    first = save_now_push(user_id=saver.pk, amount=100, challenge_id=None, request_key="ussd:ATUid_twice")
    again = save_now_push(user_id=saver.pk, amount=100, challenge_id=None, request_key="ussd:ATUid_twice")
    assert first is not None and again is None and Transaction.objects.count() == 1


def test_a_refused_push_is_told_to_the_member_by_sms(saver, simulator, feature_org, mpesa):
    from tests.ussd.conftest import replies
    from ussd.services import save_now_push

    mpesa.consumer_secret = "wrong-secret"
    mpesa.save()
    assert save_now_push(user_id=saver.pk, amount=100, challenge_id=None, request_key="ussd:ATUid_refused") is None
    assert Transaction.objects.get().status == "failed"
    assert "M-Pesa could not start your payment of KES 100" in replies(saver)[-1]

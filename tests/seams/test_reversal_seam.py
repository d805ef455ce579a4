"""payments -> gamification -> notifications/analytics, the other way: an org admin reverses a scored
deposit over the API and the member's points, the challenge totals and the live board follow, with
one message and one event, however often the reversal is handed over."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from tests.payments.conftest import c2b_payload


def test_admin_reversal_claws_back_points_totals_and_rank_once(hook, api_client_for, org, org_admin, saver,
                                                               running_challenge, trans_time,
                                                               django_capture_on_commit_callbacks):
    from accounts.services import user_create
    from analytics.models import Event
    from challenges.models import Challenge, Participant, PointAward
    from challenges.services import deposit_reversal_apply, deposits_reversed_sweep
    from challenges.selectors import leaderboard_read
    from challenges.services import participant_join, scores_recompute
    from notifications.models import Notification
    from payments.models import Transaction
    from payments.services import _after_reversed

    challenge = running_challenge()
    rival = user_create(phone_number="+254708374150", name="Rival")
    for user in (saver, rival):
        participant_join(challenge=challenge, user=user)
    hook("confirmation", c2b_payload(trans_id="RKTREV0001", amount="300.00", trans_time=trans_time,
                                     bill_ref=saver.account_code))
    hook("confirmation", c2b_payload(trans_id="RKTREV0002", amount="700.00", trans_time=trans_time,
                                     bill_ref=saver.account_code))
    hook("confirmation", c2b_payload(trans_id="RKTREV0003", amount="500.00", trans_time=trans_time,
                                     bill_ref=rival.account_code))
    mine = Participant.objects.get(challenge=challenge, user=saver)
    assert leaderboard_read(challenge_id=challenge.pk, user=saver)["me"]["rank"] == 1
    before = mine.points
    refund = Transaction.objects.get(transaction_id="RKTREV0002")
    earned = PointAward.objects.filter(participant=mine, transaction=refund).aggregate(s=Sum("points"))["s"]
    assert earned >= 700

    api = api_client_for(org)
    api.force_authenticate(org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/transactions/{refund.pk}/reverse", {"reason": "paid twice"}, format="json")
    connection.set_tenant(org)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "-700.00"

    mine.refresh_from_db()
    assert mine.total_contributed == Decimal("300.00") and mine.points < before
    assert PointAward.objects.filter(participant=mine, reason="reversal").values_list("points", flat=True).get() \
        == mine.points - before
    assert Challenge.objects.get(pk=challenge.pk).total_saved == Decimal("800.00")
    me = leaderboard_read(challenge_id=challenge.pk, user=saver)["me"]  # Redis, written through after commit
    assert (me["rank"], me["score"], me["total_saved"]) == (2, mine.points, "300.00")
    assert scores_recompute() == []

    # Handed over again (a retried task, the sweep, a second on-commit): nothing more comes off.
    _after_reversed(refund.pk)
    deposit_reversal_apply(transaction_id=refund.pk)
    assert deposits_reversed_sweep(older_than=timedelta(0)) == 0
    mine.refresh_from_db()
    assert PointAward.objects.filter(participant=mine, reason="reversal").count() == 1
    (note,) = Notification.objects.filter(template="deposit_reversed")
    assert note.user_id == saver.pk and note.idempotency_key == f"deposit_reversed:reversal:{refund.pk}:{saver.pk}"
    assert note.message == (f"Alpha Chama: Your deposit of KES 700.00 was reversed. {before - mine.points} points "
                            f"were taken back in December Sprint.")
    assert Event.objects.filter(type="deposit_reversed", properties__transaction_id=refund.pk).count() == 1
    assert Event.objects.filter(type="deposit_verified").count() == 3  # the history of the deposit stays

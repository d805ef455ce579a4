"""payments -> gamification -> notifications/analytics: one verified deposit is scored once,
confirmed by exactly one SMS (amount, progress, points, rank change) and recorded as one event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from tests.payments.conftest import c2b_payload


def _state(tx):
    from analytics.models import Event
    from notifications.models import Notification

    return (list(Notification.objects.filter(template="deposit_confirmed").order_by("pk")),
            Event.objects.filter(type="deposit_verified", properties__transaction_id=tx.pk).count())


def test_c2b_callback_scores_once_and_sends_one_rich_confirmation(hook, org, saver, running_challenge, trans_time,
                                                                 sms_outbox):
    from challenges.models import Participant, PointAward, ScoredDeposit
    from challenges.selectors import leaderboard_read
    from challenges.services import deposit_score, participant_join
    from payments.inbox import deposits_hand_over, inbox_sweep
    from payments.models import Transaction

    challenge = running_challenge()
    participant_join(challenge=challenge, user=saver)
    response = hook("confirmation", c2b_payload(trans_id="RKTSEAM001", amount="500.00", trans_time=trans_time,
                                                bill_ref=saver.account_code))
    assert response.status_code == 200, response.content

    tx = Transaction.objects.get(transaction_id="RKTSEAM001")
    assert (tx.status, tx.user_id) == ("verified", saver.pk)
    participant = Participant.objects.get(challenge=challenge, user=saver)
    points = PointAward.objects.filter(transaction=tx).aggregate(s=Sum("points"))["s"]
    assert points and points > 0 and participant.points == points
    assert participant.total_contributed == Decimal("500.00")
    board = leaderboard_read(challenge_id=challenge.pk, user=saver)
    assert board["me"]["rank"] == 1 and board["me"]["score"] == points

    notes, events = _state(tx)
    assert len(notes) == 1 and events == 1
    note = notes[0]
    assert note.user_id == saver.pk and note.urgent
    assert note.idempotency_key == f"deposit_confirmed:deposit:{tx.pk}:{saver.pk}"
    assert "KES 500.00" in note.message and "December Sprint" in note.message
    met, total = participant.progress["periods_met"], participant.progress["periods_total"]
    assert met == 1 and f"Progress {100 * met // total}%," in note.message
    assert f"+{points} points, rank #1 (=)." in note.message
    sms = [m for m in sms_outbox() if m["to"] == saver.phone_number and "KES 500.00 received" in m["message"]]
    assert len(sms) == 1 and f"+{points} points" in sms[0]["message"]

    # Every path that could score it again changes nothing: the hand-over, the game's one-deposit form,
    # the sweep, the callback replayed.
    assert deposits_hand_over(transaction_ids=[tx.pk]) == []
    deposit_score(transaction_id=tx.pk)
    inbox_sweep(older_than_seconds=0)
    hook("confirmation", c2b_payload(trans_id="RKTSEAM001", amount="500.00", trans_time=trans_time,
                                     bill_ref=saver.account_code))
    connection.set_tenant(org)
    notes, events = _state(tx)
    assert len(notes) == 1 and events == 1
    assert ScoredDeposit.objects.filter(transaction=tx).count() == 1
    participant.refresh_from_db()
    assert participant.points == points and participant.total_contributed == Decimal("500.00")
    assert len([m for m in sms_outbox() if "KES 500.00 received" in m["message"]]) == 1


def test_rank_change_is_reported(hook, org, saver, running_challenge, trans_time, make_saver):
    from challenges.services import participant_join
    from notifications.models import Notification

    challenge = running_challenge()
    rival = make_saver("+254708374150")
    participant_join(challenge=challenge, user=rival)
    participant_join(challenge=challenge, user=saver)  # joined second: rank 2 on a tie
    hook("confirmation", c2b_payload(trans_id="RKTSEAM002", amount="100.00", trans_time=trans_time,
                                     bill_ref=saver.account_code))
    message = Notification.objects.get(user=saver, template="deposit_confirmed").message
    assert "rank #1 (+1)" in message


def test_deposit_matching_no_challenge_still_gets_one_plain_confirmation(hook, org, saver, trans_time):
    from payments.models import Transaction

    hook("confirmation", c2b_payload(trans_id="RKTSEAM003", amount="250.00", trans_time=trans_time,
                                     bill_ref=saver.account_code))
    tx = Transaction.objects.get(transaction_id="RKTSEAM003")
    notes, events = _state(tx)
    assert len(notes) == 1 and events == 1
    message = notes[0].message
    assert "KES 250.00 received for your savings." in message
    assert "Progress" not in message and "#" not in message and "()" not in message


def test_unmatched_payment_assigned_by_admin_is_scored_and_confirmed_once(
        hook, api_client_for, org, org_admin, saver, running_challenge, trans_time, django_capture_on_commit_callbacks):
    from challenges.models import Participant, ScoredDeposit
    from payments.models import Transaction

    challenge = running_challenge()
    hook("confirmation", c2b_payload(trans_id="RKTSEAM004", amount="500.00", trans_time=trans_time, bill_ref="TYPO"))
    tx = Transaction.objects.get(transaction_id="RKTSEAM004")
    assert tx.status == "unmatched" and _state(tx) == ([], 0)
    api = api_client_for(org)
    api.force_authenticate(org_admin)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/transactions/{tx.pk}/assign",
                                {"user": saver.pk, "challenge": challenge.pk}, format="json")
        connection.set_tenant(org)
    assert response.status_code == 400  # the second assignment is refused
    notes, events = _state(tx)
    assert len(notes) == 1 and events == 1 and notes[0].user_id == saver.pk
    assert ScoredDeposit.objects.filter(transaction=tx).count() == 1
    participant = Participant.objects.get(challenge=challenge, user=saver)  # paying into it joined it
    assert participant.total_contributed == Decimal("500.00") and participant.points > 0
    assert f"+{participant.points} points" in notes[0].message


@pytest.fixture
def make_saver(tenant):
    from accounts.services import user_create

    return lambda phone: user_create(phone_number=phone, name=f"Saver {phone[-3:]}")


def test_confirmation_rank_from_redis_equals_the_database_order(tenant, running_challenge, make_saver):
    from challenges import leaderboard
    from challenges.models import Participant
    from challenges.services import participant_join

    challenge = running_challenge()
    users = [make_saver(f"+2547083742{n:02d}") for n in range(5)]
    for user, (points, saved) in zip(users, [(500, "500"), (500, "700"), (500, "500"), (0, "0"), (900, "100")]):
        p, _ = participant_join(challenge=challenge, user=user)
        Participant.objects.filter(pk=p.pk).update(points=points, total_contributed=Decimal(saved))
    leaderboard.board_rebuild(challenge.pk)
    expected = {row["user"]["id"]: row["rank"] for row in leaderboard.board_from_database(
        challenge_id=challenge.pk, limit=10, user_id=None).results}
    assert sorted(expected.values()) == [1, 2, 3, 4, 5]
    for p in Participant.objects.filter(challenge=challenge):
        assert leaderboard.rank_for(challenge_id=challenge.pk, user_id=p.user_id, points=p.points,
                                    total_saved=p.total_contributed, participant_id=p.pk) == expected[p.user_id]
    # a score not yet written through ranks where it will land
    last = Participant.objects.get(challenge=challenge, user=users[3])
    assert leaderboard.rank_for(challenge_id=challenge.pk, user_id=last.user_id, points=600,
                                total_saved=Decimal("600"), participant_id=last.pk) == 2

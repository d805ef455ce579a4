"""Concurrent scoring with really committed data: a deposit scored by several workers at once counts once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from django.db import connection, connections
from django.utils import timezone


def test_concurrent_scoring_of_one_deposit_credits_once(committed_org):
    from accounts.services import user_create
    from challenges.models import Contribution, Participant, PointAward
    from challenges.services import challenge_create, deposit_score, participant_join
    from payments.models import Transaction

    connection.set_tenant(committed_org)
    member = user_create(phone_number="+254722000099", name="Racer")
    challenge = challenge_create(actor=None, name="Race", type="fixed_amount",
                                 target={"amount": 100, "frequency": "weekly"}, duration_days=14,
                                 start_date=timezone.localdate() - timedelta(days=1), status="active")
    participant_join(challenge=challenge, user=member)
    tx = Transaction.objects.create(user=member, amount=Decimal("250.00"), status="verified", source="c2b",
                                    transaction_id="RACE000001", transacted_at=timezone.now())
    barrier, errors = threading.Barrier(4), []

    def score():
        try:
            connection.set_tenant(committed_org)
            barrier.wait()
            deposit_score(transaction_id=tx.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=score) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connection.set_tenant(committed_org)
    assert errors == []
    assert Contribution.objects.filter(transaction=tx).count() == 1
    participant = Participant.objects.get(challenge=challenge, user=member)
    assert participant.total_contributed == Decimal("250.00")
    assert participant.points == sum(PointAward.objects.filter(participant=participant).values_list("points", flat=True))
    challenge.refresh_from_db()
    assert challenge.total_saved == Decimal("250.00")

"""Hand-built analytics data: members joined on given days, deposits at given local times."""

from __future__ import annotations

import itertools
from unittest import mock
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

NAIROBI = ZoneInfo("Africa/Nairobi")
# A Wednesday, so "this week" started on Monday 2026-03-16.
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=NAIROBI)
_phones = itertools.count(1)
_receipts = itertools.count(1)


def at(day: str, clock: str = "12:00") -> datetime:
    """A moment in Africa/Nairobi."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=NAIROBI)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def make_member():
    from accounts.factories import UserFactory

    def make(joined: str = "2026-01-05", **extra):
        return UserFactory(
            phone_number=f"+2547{next(_phones) + 30_000_000:08d}", date_joined=at(joined, "09:00"), **extra
        )

    return make


@pytest.fixture
def make_deposit():
    from payments.models import Transaction

    def make(user, amount, when: datetime, *, challenge=None, status="verified", created_at: datetime | None = None,
             source="c2b", reverses=None):
        n = next(_receipts)
        # created_at is auto_now_add and the ledger is append-only in the database (no UPDATE of
        # money facts), so the row is written once with the time the callback "arrived".
        with mock.patch("django.utils.timezone.now", return_value=created_at or when):
            return Transaction.objects.create(
                user=user,
                challenge=challenge,
                amount=Decimal(str(amount)),
                status=status,
                source=source,
                reverses=reverses,
                transaction_id=f"TST{n:07d}",
                mpesa_receipt=f"TST{n:07d}",
                transacted_at=when,
            )

    return make


@pytest.fixture
def make_challenge():
    from challenges.models import Challenge

    def make(*, name="Save weekly", type="fixed_amount", target=None, start="2026-02-02", days=14, status="active"):
        return Challenge.objects.create(
            name=name,
            type=type,
            target=target or {"amount": 100, "frequency": "weekly"},
            duration_days=days,
            start_date=date.fromisoformat(start),
            status=status,
        )

    return make


@pytest.fixture
def make_participant():
    """A participation (challenges.Participant) with the status the game's rules give the member's
    deposits into that challenge so far (challenges.scoring.progress_compute, as scoring and the
    lifecycle sweep apply it): analytics reads outcomes and participation from these rows only.
    Call it after the member's deposits. tests/analytics/test_participants.py plays the whole game
    path (join, score, settle) once."""
    from challenges import scoring
    from challenges.models import Participant
    from challenges.services import spec_of
    from payments.models import Transaction

    def make(user, challenge):
        spec = spec_of(challenge)
        deposits = [
            (when.astimezone(NAIROBI).date(), amount)
            for when, amount in Transaction.objects.filter(user=user, challenge=challenge, status="verified")
            .values_list("transacted_at", "amount")
            if spec.in_window(when.astimezone(NAIROBI).date())
        ]
        outcome = scoring.progress_compute(spec, deposits, today=NOW.date())
        status = "completed" if outcome.completed else "failed" if outcome.failed else "active"
        return Participant.objects.create(user=user, challenge=challenge, status=status,
                                          total_contributed=sum((a for _d, a in deposits), Decimal("0")),
                                          progress=outcome.progress)

    return make


@pytest.fixture
def make_event():
    from analytics.models import Event

    def make(type, user, when: datetime, **properties):
        return Event.objects.create(type=type, user=user, created_at=when, properties=properties)

    return make

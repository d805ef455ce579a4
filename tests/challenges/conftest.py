"""Fixtures for the gamification tests: members, challenges, and verified deposits scored through the seam."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

NAIROBI = ZoneInfo("Africa/Nairobi")
_receipts = itertools.count(1)


@pytest.fixture
def make_member(tenant):
    from accounts.factories import UserFactory

    def make(**kwargs):
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def member(make_member):
    return make_member(name="Akinyi Otieno")


@pytest.fixture
def make_challenge(tenant, org_admin):
    from challenges.services import challenge_create

    def make(type="fixed_amount", target=None, start=date(2026, 3, 2), days=28, status="active", name=None):
        challenge = challenge_create(actor=org_admin, name=name or f"{type} challenge", type=type,
                                     target=target or {"amount": "500", "frequency": "weekly"},
                                     duration_days=days, start_date=start, status="draft")
        if status != "draft":
            # Set directly: tests use past dates, which publishing refuses.
            challenge.status = status
            challenge.save(update_fields=["status"])
        return challenge

    return make


def nairobi(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NAIROBI)


@pytest.fixture
def record_deposit(tenant):
    """Create a verified ledger row (as payments would) and optionally score it."""
    from payments.models import Transaction

    def record(user, amount, when, challenge=None, score=True, status="verified"):
        if isinstance(when, date) and not isinstance(when, datetime):
            when = nairobi(when)
        number = next(_receipts)
        tx = Transaction.objects.create(
            user=user, challenge=challenge, amount=Decimal(str(amount)), status=status, source="c2b",
            transaction_id=f"TST{number:07d}", mpesa_receipt=f"TST{number:07d}", transacted_at=when, verified_at=when,
        )
        if score:
            from challenges.services import deposit_score

            deposit_score(transaction_id=tx.pk)
        return tx

    return record


@pytest.fixture
def notifications(monkeypatch):
    """Capture queued messages (notify, notify_many and notify_each all end in notify_batch): a list of
    (user_id, template, context)."""
    import notifications.services

    sent = []

    def capture(*, messages, urgent=False, channel=None, key_prefix="", broadcast=None):
        messages = list(messages)
        sent.extend((user.pk, template, dict(context or {})) for user, template, context in messages)
        return len(messages)

    monkeypatch.setattr(notifications.services, "notify_batch", capture)
    return sent


@pytest.fixture
def frozen_today():
    """Freeze 'now' (Nairobi) for a test: frozen_today(date(...))."""
    import time_machine

    travellers = []

    def freeze(day: date, hour: int = 12):
        traveller = time_machine.travel(nairobi(day, hour), tick=False)
        traveller.start()
        travellers.append(traveller)

    yield freeze
    for traveller in travellers:
        traveller.stop()

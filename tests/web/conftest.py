"""Fixtures for the web pages: a member of `org`, signed-in test clients, quick ledger rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone


@pytest.fixture
def member(tenant):
    from accounts.services import user_create

    return user_create(phone_number="+254712345678", name="Akinyi Otieno")


@pytest.fixture
def signed_in(client_for, org):
    """`signed_in(user)`: a test client on `org`'s host with that user's session."""

    def make(user, **defaults):
        client = client_for(org, **defaults)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def deposit(tenant):
    """`deposit(user, amount, status="verified", challenge=None, days_ago=0)` writes one ledger row."""
    from payments.models import Transaction

    counter = {"n": 0}

    def make(user, amount, status="verified", challenge=None, days_ago=0):
        counter["n"] += 1
        when = timezone.now() - timedelta(days=days_ago)
        return Transaction.objects.create(
            user=user, amount=Decimal(str(amount)), status=status, source="c2b", challenge=challenge,
            transaction_id=f"TX{counter['n']:08d}{user.pk}", transacted_at=when,
            verified_at=when if status == "verified" else None,
        )

    return make


@pytest.fixture
def active_challenge(tenant):
    from challenges.models import Challenge

    return Challenge.objects.create(
        name="Weekly 500", type="fixed_amount", target={"amount": 500, "frequency": "weekly"},
        duration_days=28, start_date=this_monday(), status="active",
    )


def this_monday():
    """The start of the organization's current week: a weekly challenge that began last week would have
    missed a period already on a Monday (and failed), whatever the test meant to show."""
    from tenants.calendar import local_today, week_start

    return week_start(local_today())

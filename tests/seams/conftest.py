"""Fixtures for the seam tests: payments' Daraja helpers plus an active challenge around today."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.payments.conftest import eager_celery, hook, mpesa  # noqa: F401  (fixtures re-exported)


@pytest.fixture
def saver(tenant):
    from accounts.services import user_create

    return user_create(phone_number="+254708374149", name="Jane Saver")


@pytest.fixture
def running_challenge(tenant, org_admin):
    """An active fixed-amount challenge whose dates contain today (Nairobi)."""
    from challenges.services import challenge_create, local_today

    def make(name="December Sprint", amount="500"):
        challenge = challenge_create(actor=org_admin, name=name, type="fixed_amount",
                                     target={"amount": amount, "frequency": "weekly"}, duration_days=28,
                                     start_date=local_today() - timedelta(days=3), status="draft")
        challenge.status = "active"
        challenge.save(update_fields=["status"])
        return challenge

    return make


@pytest.fixture
def trans_time():
    """Daraja's TransTime for 'now' in Nairobi (the deposit's local day is inside the challenge)."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    return timezone.now().astimezone(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")

"""One saved total everywhere (payments.selectors, "the one reversal rule"): deposit 500 and 100,
reverse the 100, and every surface a member or leader reads says 500 (issue 15: the home page and
the weekly SMS said 400). Then the property: for any sequence of deposits and reversals, every
surface reports the same total as payments.saved_total."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_receipts = itertools.count(1)


@pytest.fixture
def saver(tenant):
    from accounts.factories import UserFactory

    return UserFactory(name="Akinyi Otieno")


@pytest.fixture
def challenge(tenant, org_admin):
    """An active challenge running around today, so every deposit counts toward it."""
    from challenges.services import challenge_create

    today = timezone.localdate()
    challenge = challenge_create(actor=org_admin, name="Save weekly", type="fixed_amount",
                                 target={"amount": "500", "frequency": "weekly"}, duration_days=28,
                                 start_date=today - timedelta(days=7), status="draft")
    challenge.status = "active"
    challenge.save(update_fields=["status"])
    return challenge


@pytest.fixture
def ledger(django_capture_on_commit_callbacks, org_admin):
    """deposit(user, amount) and reverse(tx) as payments does them, with their on-commit hand-over
    to the game run."""
    from challenges.services import deposit_score
    from payments.models import Transaction
    from payments.services import transaction_reverse

    class Ledger:
        @staticmethod
        def deposit(user, amount, minutes_ago: int = 60):
            number = next(_receipts)
            when = timezone.now() - timedelta(minutes=minutes_ago)
            tx = Transaction.objects.create(user=user, amount=Decimal(str(amount)), status="verified", source="c2b",
                                            transaction_id=f"SVT{number:07d}", mpesa_receipt=f"SVT{number:07d}",
                                            transacted_at=when, verified_at=when)
            with django_capture_on_commit_callbacks(execute=True):
                deposit_score(transaction_id=tx.pk)
            return tx

        @staticmethod
        def reverse(tx):
            with django_capture_on_commit_callbacks(execute=True):
                return transaction_reverse(transaction_id=tx.pk, reason="refunded", actor=org_admin)

    return Ledger()


def _join(challenge, user):
    from challenges.services import participant_join

    participant_join(challenge=challenge, user=user)


def surfaces(*, user, challenge, organization, api_client_for) -> dict[str, Decimal]:
    """The saved total as each surface reports it."""
    from analytics.selectors import member_statement
    from notifications.selectors import weekly_summary_context
    from web.selectors import member_home_summary

    today = timezone.localdate()
    api = api_client_for(organization)
    api.force_authenticate(user)
    progress = api.get(f"/api/v1/members/{user.pk}/progress").json()
    board = api.get(f"/api/v1/challenges/{challenge.pk}/leaderboard").json()
    mine = [row for row in board["results"] if row["user"]["id"] == user.pk]
    admin = api_client_for(organization)
    admin.force_authenticate(organization_admin(organization))
    overview = admin.get("/api/v1/analytics/overview").json()
    return {
        "home": Decimal(member_home_summary(user=user, organization=organization)["total_saved"]),
        "api_progress": Decimal(progress["total_contributed"]),
        "statement": Decimal(member_statement(user=user, year=today.year, month=today.month)["closing_balance"]),
        "weekly_sms": Decimal(weekly_summary_context(user)["total_saved"].replace(",", "")),
        "analytics_overview": Decimal(overview["total_saved"]),
        "leaderboard": Decimal(mine[0]["total_saved"]) if mine else Decimal("0"),
    }


def organization_admin(organization):
    from accounts.models import User

    return User.objects.filter(role="org_admin").order_by("pk").first()


@pytest.fixture
def reversed_case(saver, challenge, ledger):
    _join(challenge, saver)
    ledger.deposit(saver, 500, minutes_ago=120)
    hundred = ledger.deposit(saver, 100, minutes_ago=90)
    ledger.reverse(hundred)
    return saver


def test_payments_rule_counts_a_reversal_once(reversed_case):
    from payments.selectors import member_savings, saved_total

    assert saved_total(user=reversed_case) == Decimal("500")
    savings = member_savings(user=reversed_case)
    assert savings["total_saved"] == Decimal("500")
    assert savings["deposits"] == 1  # the reversed 100 no longer counts as a deposit


@pytest.mark.parametrize("surface", ["home", "api_progress", "statement", "weekly_sms", "analytics_overview",
                                     "leaderboard"])
def test_reversed_100_of_500_and_100_shows_500(surface, reversed_case, challenge, org, api_client_for):
    assert surfaces(user=reversed_case, challenge=challenge, organization=org,
                    api_client_for=api_client_for)[surface] == Decimal("500")


def test_home_page_shows_500(reversed_case, client_for, org):
    client = client_for(org)
    client.force_login(reversed_case)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["summary"]["total_saved"] == Decimal("500")
    assert "KES 500.00</strong>" in response.content.decode()


class Rollback(Exception):
    pass


amounts = st.integers(min_value=1, max_value=5000)
events = st.lists(st.one_of(st.tuples(st.just("deposit"), amounts),
                            st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20))),
                  min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=events)
def test_every_surface_reports_the_same_saved_total(steps, tenant, challenge, ledger, org, api_client_for):
    """Any sequence of deposits and reversals (a reversal picks one of the deposits still standing)."""
    from accounts.factories import UserFactory
    from payments.selectors import saved_total

    try:
        with transaction.atomic():
            user = UserFactory()
            _join(challenge, user)
            standing, expected = [], Decimal("0")
            for minute, (kind, value) in enumerate(steps):
                if kind == "deposit":
                    standing.append(ledger.deposit(user, value, minutes_ago=200 - minute))
                    expected += value
                elif standing:
                    tx = standing.pop(value % len(standing))
                    ledger.reverse(tx)
                    expected -= tx.amount
            reported = surfaces(user=user, challenge=challenge, organization=org, api_client_for=api_client_for)
            assert saved_total(user=user) == expected
            assert reported == dict.fromkeys(reported, expected), steps
            raise Rollback
    except Rollback:
        pass

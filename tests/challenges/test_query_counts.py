"""Exact query counts of the game's hot paths, pinned as Zulip pins them: scoring a batch of 1 and
of 200 deposits, badge evaluation, and the outbox writer (notify_batch). A change that adds a query
per deposit, per member or per message fails here; a change that saves one updates the number.

One row costs what two hundred cost (but for a lone message's savepoint): that is the promise of
the batch paths (docs/BENCHMARKS.md, docs/GAMIFICATION.md)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from tests.challenges.conftest import nairobi

START = date(2026, 3, 2)
_receipts = itertools.count(1)

# size -> exact count, measured after a warm-up call (per-process caches such as the badge catalogue
# are filled once). notify_batch inserts a lone row inside a savepoint (SAVEPOINT + RELEASE: two
# statements more) and a batch in one INSERT; otherwise one row costs what two hundred do.
# deposits_score: 1 or 200 deposits, two challenges per member, members scored for the first time (their
# member metrics rows are built from the ledger: locked, read, inserted; a member with a row costs one less).
# Streak freezes (issue 18) cost one read of the members' freeze rows per batch, and one insert when the
# batch earned or used a freeze (the 200 do).
SCORING_QUERIES = {1: 30, 200: 31}
BADGE_QUERIES = {1: 15, 200: 15}  # badges_evaluate_many: 1 or 200 members earning a badge
NOTIFY_BATCH_QUERIES = {1: 8, 200: 6}  # notify_batch: settings, preferences, push devices, overrides, counts, insert


def _unscored(user, amount="250", day=START):
    from payments.models import Transaction

    number = next(_receipts)
    when = nairobi(day)
    return Transaction.objects.create(user=user, amount=Decimal(amount), status="verified", source="c2b",
                                      transaction_id=f"QC{number:08d}", mpesa_receipt=f"QC{number:08d}",
                                      transacted_at=when, verified_at=when)


@pytest.fixture
def joined(make_challenge, make_member, frozen_today):
    """Two challenges running (a weekly target and a daily streak), members who joined both."""
    from challenges.services import participant_join

    frozen_today(date(2026, 3, 10))
    challenges = [make_challenge(type="fixed_amount", target={"amount": "500", "frequency": "weekly"}),
                  make_challenge(type="streak", target={"consecutive_days": 3, "min_amount": "100"})]

    def members(n):
        made = [make_member() for _ in range(n)]
        for member in made:
            for challenge in challenges:
                participant_join(challenge=challenge, user=member)
        return made

    return members


@pytest.mark.parametrize("size", [1, 200])
def test_scoring_a_batch_costs_the_same_queries_for_1_and_200_deposits(size, joined, django_assert_num_queries):
    from challenges.services import deposits_score

    members = joined(min(size, 50) + 1)  # 200 deposits from 50 members: four each, two challenges each
    warm_up, members = members[0], members[1:]
    deposits_score(transaction_ids=[_unscored(warm_up).pk])  # per-process caches (badge catalogue, rules) warm
    ids = [_unscored(members[i % len(members)], day=date(2026, 3, 2 + i % 8)).pk for i in range(size)]
    with django_assert_num_queries(SCORING_QUERIES[size]):
        assert len(deposits_score(transaction_ids=ids)) == size


@pytest.mark.parametrize("size", [1, 200])
def test_badge_evaluation_costs_the_same_queries_for_1_and_200_members(size, make_member,
                                                                       django_assert_num_queries):
    from challenges.services import badges_evaluate_many

    from challenges.models import ScoredDeposit
    from challenges.services import member_metrics_rebuild

    members = [make_member() for _ in range(size)]
    for member in members:
        ScoredDeposit.objects.create(transaction=_unscored(member, amount="1500"))  # "saved-1k" is now earned
    member_metrics_rebuild(user_ids=[member.pk for member in members])  # as the scoring batch leaves them
    badges_evaluate_many(subjects=[(make_member(), [])])  # per-process caches (badge catalogue) warm
    with django_assert_num_queries(BADGE_QUERIES[size]):
        earned = badges_evaluate_many(subjects=[(member, []) for member in members])
    assert len(earned) == size


@pytest.mark.parametrize("size", [1, 200])
def test_notify_batch_costs_the_same_queries_for_1_and_200_messages(size, make_member, django_assert_num_queries):
    from notifications.services import notify_batch

    members = [make_member() for _ in range(size)]
    notify_batch(messages=[(make_member(), "badge_earned", {"badge": "Early Bird", "idempotency_key": "qc:warm"})])
    messages = [(member, "badge_earned", {"badge": "Early Bird", "idempotency_key": f"qc:{member.pk}"})
                for member in members]
    with django_assert_num_queries(NOTIFY_BATCH_QUERIES[size]):
        assert notify_batch(messages=messages) == size

"""The inbox drain's query counts, pinned exactly (issue 15 item 9): a change that adds a query per row
fails here. Crediting costs a fixed number of queries per row (its savepoint, receipt lock, lookups, the
ledger row and its audit row, its own state change); the batch adds a fixed number around it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.payments.conftest import c2b_payload


def _store(token: str, n: int, bill_ref: str) -> None:
    from payments.inbox import callback_store

    for i in range(n):
        callback_store(kind="confirmation", body=c2b_payload(trans_id=f"RKTQC{n:03d}{i:04d}", bill_ref=bill_ref),
                       token=token)


def _drain_batch_queries(n: int, bill_ref: str, token: str) -> int:
    from payments.inbox import _drain_batch

    from savegame.metrics import org_label

    _store(token, n, bill_ref)
    org_label()  # the metrics' organization labels load once per process every 10 min: steady state here
    with CaptureQueriesContext(connection) as queries:
        taken, verified = _drain_batch(size=n, later=[])
    assert taken == n
    return len(queries)


# Per row: SAVEPOINT, the receipt's advisory lock, the ledger lookup by receipt, the member by account
# code, the member's open STK pushes, the ledger INSERT, its status-change INSERT, the row's own state
# UPDATE, RELEASE SAVEPOINT. Per batch: the row claim (FOR UPDATE SKIP LOCKED), SAVEPOINT/RELEASE of the batch.
PER_ROW, PER_BATCH = 9, 3


@pytest.mark.parametrize("n", [1, 10])
def test_crediting_a_batch_costs_a_fixed_number_of_queries_per_row(tenant, member, mpesa, n):
    assert _drain_batch_queries(n, member.account_code, mpesa.callback_token) == PER_BATCH + PER_ROW * n


@pytest.mark.parametrize("n", [1, 10])
def test_an_unmatched_batch_costs_the_same_per_row(tenant, member, mpesa, n):
    """No account code matched: the hashed-phone lookup replaces the STK-push lookup, one query each."""
    assert _drain_batch_queries(n, "NOBODY", mpesa.callback_token) == PER_BATCH + PER_ROW * n


# The scoring batch (challenges.services.deposits_score: its guard rows, member, challenge, badge and
# leaderboard reads and writes, each one query for the whole batch; the member metrics row locked and
# written back). Measured warm: 24 for a lone deposit, 24 for ten (the ten earn a deposit-count badge: its
# award, the message's counts; a lone row's message and event inserts cost two savepoints instead);
# what matters is that neither grows with the batch, nor with the ledger (bench/drain_ledger.py).
@pytest.mark.parametrize("n, expected", [(1, 24), (10, 24)])
def test_the_hand_over_to_scoring_does_not_grow_with_the_batch(tenant, member, mpesa, n, expected, published):
    from payments.inbox import _drain_batch, deposits_hand_over

    from savegame.metrics import org_label

    _store(mpesa.callback_token, n + 1, member.account_code)
    _, verified = _drain_batch(size=n + 1, later=[])
    # One deposit first: per-process caches (metrics labels, the organization's clock, templates) warm up,
    # so what is pinned is the steady state, whatever ran before this test in the process.
    org_label()
    assert len(deposits_hand_over(transaction_ids=verified[:1])) == 1
    with CaptureQueriesContext(connection) as queries:
        assert len(deposits_hand_over(transaction_ids=verified[1:])) == n
    assert len(queries) == expected, [q["sql"][:120] for q in queries.captured_queries]

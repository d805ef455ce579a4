"""The inbox drain: one kick per burst, batches credited in savepoints, one scoring hand-over per batch,
safe when run twice or side by side, and no row stranded by the kick key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from challenges.models import ScoredDeposit
from payments.models import CallbackInbox, Transaction
from tests.payments.conftest import c2b_payload, stk_success_payload
from tests.payments.conftest import count_in as _count


@pytest.fixture
def batches(monkeypatch):
    """Every batch handed to challenges.services.deposits_score."""
    import challenges.services

    seen: list[list[int]] = []
    original = challenges.services.deposits_score

    def spy(*, transaction_ids):
        seen.append(list(transaction_ids))
        return original(transaction_ids=transaction_ids)

    monkeypatch.setattr(challenges.services, "deposits_score", spy)
    return seen


def _store(token: str, trans_id: str, bill_ref: str, amount: str = "100") -> int:
    from payments.inbox import callback_store

    _, inbox_id = callback_store(kind="confirmation", body=c2b_payload(trans_id=trans_id, amount=amount,
                                                                        bill_ref=bill_ref), token=token)
    return inbox_id


def test_one_kick_per_drain(tenant, published):
    from payments.inbox import _drain_release, inbox_kick

    assert inbox_kick() is True and inbox_kick() is False and inbox_kick() is False
    assert published == ["drain 0"]
    _drain_release(0)  # what a drain does once the inbox is empty
    assert inbox_kick() is True and published == ["drain 0", "drain 0"]


def test_a_burst_gets_a_bounded_number_of_helper_drains(tenant, member, mpesa, published, settings):
    from payments.inbox import _drain_helpers_start, inbox_drain
    from savegame.redis import redis_client, tenant_key

    settings.PAYMENTS_DRAIN_HELPERS = 2
    assert _drain_helpers_start() == 2 and _drain_helpers_start() == 0  # each slot at most once at a time
    assert published == ["drain 1", "drain 2"]
    _store(mpesa.callback_token, "RKTHELP001", member.account_code)
    assert inbox_drain(slot=2) == 1  # a helper drains like any other...
    assert not redis_client().exists(tenant_key("payments", "drain-helper", 2))  # ...and frees its slot
    assert redis_client().exists(tenant_key("payments", "drain-helper", 1))
    assert _drain_helpers_start() == 1 and published[-1] == "drain 2"


def test_a_dead_broker_releases_the_kick_for_the_next_callback(tenant, monkeypatch):
    from payments.inbox import inbox_kick
    from payments.tasks import inbox_drain_task
    from savegame.redis import redis_client, tenant_key

    def dead(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(inbox_drain_task, "apply_async", dead)
    assert inbox_kick() is False
    assert not redis_client().exists(tenant_key("payments", "drain-kick"))


def test_drain_credits_in_batches_and_scores_each_batch_in_one_hand_over(tenant, member, mpesa, batches, scored,
                                                                          published):
    from payments.inbox import inbox_drain

    for n in range(5):
        _store(mpesa.callback_token, f"RKTBATCH0{n}", member.account_code)
    _store(mpesa.callback_token, "RKTBATCHNO", "NOBODY")  # unmatched: credited to the queue, never scored
    assert inbox_drain(batch_size=2) == 6
    credited = list(Transaction.objects.filter(status="verified").order_by("transaction_id").values_list("pk", flat=True))
    assert len(credited) == 5 and Transaction.objects.filter(status="unmatched").count() == 1
    assert [len(b) for b in batches] == [2, 2, 1]  # the unmatched row's batch handed nothing over
    assert published == ["drain 1"]  # a full batch: one helper drain for the burst (PAYMENTS_DRAIN_HELPERS)
    assert sorted(scored) == credited and ScoredDeposit.objects.count() == 5
    assert set(CallbackInbox.objects.values_list("state", flat=True)) == {"processed"}
    assert inbox_drain() == 0 and len(scored) == 5  # a second run finds nothing


def test_a_row_that_cannot_be_applied_yet_is_retried_on_its_own(tenant, member, mpesa, published, monkeypatch):
    """An STK result before its push row: the drain carries on and hands the row to callback_process."""
    from payments import inbox
    from payments.inbox import callback_store, inbox_drain

    retried: list[int] = []
    monkeypatch.setattr(inbox, "callback_enqueue", lambda *, inbox_id, **kw: retried.append(inbox_id))
    _, early = callback_store(kind="stk_callback", body=stk_success_payload(checkout="ws_CO_EARLY", receipt="RKTEARLY01"),
                              token=mpesa.callback_token)
    ok = _store(mpesa.callback_token, "RKTAFTER01", member.account_code)
    assert inbox_drain() == 1
    assert retried == [early]
    assert CallbackInbox.objects.get(pk=early).state == "received" and CallbackInbox.objects.get(pk=early).attempts == 1
    assert CallbackInbox.objects.get(pk=ok).state == "processed"
    assert inbox_drain() == 0 and retried == [early]  # tried once per drain at most: it now belongs to its retries


def test_batch_scoring_failure_falls_back_to_one_by_one(tenant, member, mpesa, scored, published, monkeypatch):
    import challenges.services
    from payments.inbox import inbox_drain

    score = challenges.services.scoring_batch._ScoringBatch.score

    def poisoned(batch):  # a deposit that breaks scoring takes its whole batch down with it
        if len(batch.txs) > 1:
            raise RuntimeError("a bug in batch scoring")
        score(batch)

    monkeypatch.setattr(challenges.services.scoring_batch._ScoringBatch, "score", poisoned)
    for n in range(3):
        _store(mpesa.callback_token, f"RKTFALL00{n}", member.account_code)
    inbox_drain()
    assert len(scored) == 3 and ScoredDeposit.objects.count() == 3


# --- against committed data: concurrency, redelivery, the kick race --------------------------------------

@pytest.fixture
def live(live_org):
    yield live_org
    connections.close_all()


def test_drains_side_by_side_and_redelivered_credit_and_score_once(live, scored, published):
    from payments.inbox import inbox_drain

    org, member, token = live
    schema = org.schema_name
    with schema_context(schema):
        for n in range(40):
            _store(token, f"RKTPAR{n:04d}", member.account_code)

    def drain(_):
        try:
            with schema_context(schema):
                return inbox_drain(batch_size=5)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(drain, range(4)))
    assert sum(done) == 40  # every row taken by exactly one drain (SKIP LOCKED)
    with schema_context(schema):
        CallbackInbox.objects.update(state="received", attempts=0)  # pretend every ack was lost
    assert sum(ThreadPoolExecutor(max_workers=2).map(drain, range(2))) == 40  # redelivered: applied again...
    assert _count(schema, Transaction) == 40  # ...but nothing credited twice
    assert _count(schema, Transaction, status="verified") == 40
    assert _count(schema, ScoredDeposit) == 40
    assert len(scored) == 40 and len(set(scored)) == 40


def test_a_drain_killed_between_crediting_and_scoring_loses_no_score(live, scored, published, monkeypatch):
    from payments import inbox
    from payments.inbox import inbox_drain, inbox_sweep

    org, member, token = live
    schema = org.schema_name
    real_hand_over = inbox.deposits_hand_over

    def killed(*, transaction_ids):
        raise SystemExit("worker killed")  # the crediting transaction has committed by now

    with schema_context(schema):
        for n in range(3):
            _store(token, f"RKTKILL00{n}", member.account_code)
        monkeypatch.setattr(inbox, "deposits_hand_over", killed)
        with pytest.raises(SystemExit):
            inbox_drain()
        monkeypatch.setattr(inbox, "deposits_hand_over", real_hand_over)
        assert Transaction.objects.filter(status="verified").count() == 3 and not ScoredDeposit.objects.exists()
        assert inbox_drain() == 0  # the redelivered task: every row is processed already
        inbox_sweep(older_than_seconds=0)  # the unscored safety net
        inbox_sweep(older_than_seconds=0)
        assert ScoredDeposit.objects.count() == 3
    assert len(scored) == 3 and len(set(scored)) == 3


def test_a_row_committed_while_the_drain_finishes_is_not_stranded(live, scored, published, monkeypatch):
    """commit -> SET NX (fails: the key is still set, nothing is published) -> the drain DELs the key ->
    its last look finds the row."""
    from payments import inbox
    from payments.inbox import inbox_drain, inbox_kick

    org, member, token = live
    schema = org.schema_name
    release = inbox._drain_release
    kicks: list[bool] = []

    def callback_lands_then_release(slot):
        if not kicks:  # a callback commits its row in the gap between the empty batch and the DEL
            _store(token, "RKTRACE002", member.account_code)
            kicks.append(inbox_kick())
        release(slot)

    monkeypatch.setattr(inbox, "_drain_release", callback_lands_then_release)
    with schema_context(schema):
        _store(token, "RKTRACE001", member.account_code)
        assert inbox_kick() is True  # the first callback's kick: the key is now set
        assert inbox_drain() == 2
        assert kicks == [False] and published == ["drain 0"]  # the second callback published nothing...
        assert CallbackInbox.objects.filter(state="processed").count() == 2  # ...and was processed anyway
        assert Transaction.objects.filter(status="verified").count() == 2
    assert len(scored) == 2

"""Against a live server and real PostgreSQL: concurrent duplicates, a dead broker, a task run twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from django.db import connections
from django_tenants.utils import schema_context

from challenges.models import ScoredDeposit
from payments.models import CallbackInbox, Transaction
from savegame.celery import app as celery_app
from tests.payments.conftest import c2b_payload
from tests.payments.conftest import count_in as _count
from tests.payments.live import PrivateRedis, every_queue, live_server, wait_for


def _url(port: int, token: str, path: str = "c2b/confirmation") -> str:
    return f"http://127.0.0.1:{port}/hooks/pay/{token}/{path}"


def _host(org) -> dict:
    return {"Host": f"{org.slug}.localhost", "Connection": "close"}


@pytest.fixture(autouse=True)
def _coalesced_kicks(settings):
    """As in production: the live server's requests kick drains through the process's kick thread."""
    settings.PAYMENTS_KICK_COALESCE_MS = 100


@pytest.fixture
def payments_worker():
    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10,
                      queues=every_queue()):
        yield
    connections.close_all()


def test_100_concurrent_duplicates_of_one_transid_credit_once(live_org, scored, payments_worker):
    org, member, token = live_org
    body = c2b_payload(trans_id="RKTCONC001", amount="1000", bill_ref=member.account_code, shortcode="600999")
    barrier = threading.Barrier(100)

    def send(_):
        barrier.wait()
        return requests.post(_url(port, token), json=body, headers=_host(org), timeout=30)

    with live_server() as port, ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(send, range(100)))
    assert [r.status_code for r in responses] == [200] * 100
    assert all(r.json() == {"ResultCode": 0, "ResultDesc": "Accepted"} for r in responses)
    schema = org.schema_name
    assert wait_for(lambda: _count(schema, Transaction, status="verified") == 1 and _count(schema, ScoredDeposit) == 1)
    # a redelivered task and a sweep racing it: still one credit
    with schema_context(schema):
        inbox_id = CallbackInbox.objects.get(natural_key="RKTCONC001").pk
        CallbackInbox.objects.filter(pk=inbox_id).update(state="received")  # pretend the ack was lost

    def rerun(_):
        with schema_context(schema):
            from payments.inbox import callback_process, inbox_sweep

            callback_process(inbox_id=inbox_id)
            inbox_sweep(older_than_seconds=0)
        connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(rerun, range(10)))
    wait_for(lambda: _count(schema, CallbackInbox, state="processed") == 1)
    assert _count(schema, CallbackInbox) == 1
    assert _count(schema, Transaction) == 1
    assert _count(schema, Transaction, user=member, status="verified", amount="1000") == 1
    assert _count(schema, ScoredDeposit) == 1
    assert scored.count(scored[0]) == 1 and len(scored) == 1


def test_dead_redis_delays_credits_but_loses_none(live_org, scored, settings):
    """Redis dies (broker, drain kick and rate limiter at once): callbacks are still answered and stored;
    once it is back the sweep drains what was stored, and new callbacks are kicked again."""
    from savegame.redis import redis_client

    org, member, token = live_org
    schema = org.schema_name
    redis = PrivateRedis()
    original = celery_app.conf.broker_url, settings.REDIS_URL

    def use_redis(broker_url, redis_url=None):
        celery_app.conf.broker_url = broker_url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        settings.REDIS_URL = redis_url or broker_url
        redis_client.cache_clear()

    redis.start()
    use_redis(redis.url)
    try:
        redis.stop()  # Redis dies
        with live_server() as port:
            for n in range(5):
                body = c2b_payload(trans_id=f"RKTDEAD00{n}", amount="200", bill_ref=member.account_code, shortcode="600999")
                response = requests.post(_url(port, token), json=body, headers=_host(org), timeout=10)
                assert response.status_code == 200 and response.json()["ResultCode"] == 0
        assert _count(schema, CallbackInbox, state="received") == 5
        assert _count(schema, Transaction) == 0  # delayed...

        redis.start()  # ...Redis is back: the periodic sweep drains, a worker credits
        use_redis(redis.url)
        celery_app.conf.task_always_eager = False
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=10, queues=every_queue()):
            with schema_context(schema):
                from payments.tasks import inbox_sweep_task

                inbox_sweep_task.apply_async(kwargs={}, queue="payments")  # what beat sends every minute
            # the sweep only picks rows older than 60 s; the sweep task here runs with the default, so
            # also run it with no age limit, as a later beat tick would
            with schema_context(schema):
                from payments.inbox import inbox_sweep

                inbox_sweep(older_than_seconds=0)
            assert wait_for(lambda: _count(schema, Transaction, status="verified") == 5, timeout=30)
            assert wait_for(lambda: _count(schema, ScoredDeposit) == 5, timeout=10)
            with live_server() as port:  # a callback now is kicked again, no sweep needed
                body = c2b_payload(trans_id="RKTDEAD009", amount="200", bill_ref=member.account_code, shortcode="600999")
                assert requests.post(_url(port, token), json=body, headers=_host(org), timeout=10).status_code == 200
            assert wait_for(lambda: _count(schema, ScoredDeposit) == 6, timeout=20)
        connections.close_all()
    finally:
        use_redis(*original)
        redis.stop()
    assert _count(schema, CallbackInbox, state="processed") == 6
    assert len(scored) == 6 and len(set(scored)) == 6


def test_a_kick_lost_to_a_redis_outage_is_sent_after_it(live_org, scored, settings):
    """Redis is down when callbacks are stored: their kicks are kept by the web process and sent as soon
    as Redis answers again, so the rows are credited within seconds, with no sweep (issue 20: they
    waited 161 s for beat)."""
    from payments.kicks import coalescer
    from savegame.redis import redis_client

    org, member, token = live_org
    schema = org.schema_name
    redis = PrivateRedis()
    original = celery_app.conf.broker_url, settings.REDIS_URL

    def use_redis(broker_url, redis_url=None):
        celery_app.conf.broker_url = broker_url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        settings.REDIS_URL = redis_url or broker_url
        redis_client.cache_clear()

    redis.start()
    use_redis(redis.url)
    try:
        redis.stop()  # Redis dies
        with live_server() as port:
            for n in range(3):
                body = c2b_payload(trans_id=f"RKTKEPT00{n}", amount="200", bill_ref=member.account_code, shortcode="600999")
                response = requests.post(_url(port, token), json=body, headers=_host(org), timeout=10)
                assert response.status_code == 200 and response.json()["ResultCode"] == 0
        assert wait_for(lambda: schema in coalescer._owed, timeout=10)  # the failed kick is kept
        assert _count(schema, CallbackInbox, state="received") == 3

        celery_app.conf.task_always_eager = False
        redis.start()  # the same address: nothing in this process is told Redis is back
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=10, queues=every_queue()):
            back = time.monotonic()
            assert wait_for(lambda: _count(schema, ScoredDeposit) == 3, timeout=20)  # no sweep was run
            assert time.monotonic() - back < 15
        assert schema not in coalescer._owed
        connections.close_all()
    finally:
        use_redis(*original)
        redis.stop()
    assert _count(schema, Transaction, status="verified") == 3 and len(set(scored)) == 3

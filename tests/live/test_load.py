"""The outage of issue 13 / 14 item 1, against live servers: the web tier (threaded WSGI, like gunicorn
gthread) and the live hub (uvicorn), real PostgreSQL and Redis. Bounded: 2,000 streams, ~1 minute."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import requests
from django.conf import settings
from django_tenants.utils import schema_context

from tests.live.conftest import headers_for, hub_server, read_events, session_for
from tests.payments.conftest import c2b_payload
from tests.payments.live import live_server

MEMBERS = int(os.environ.get("LIVE_TEST_MEMBERS", "400"))
STREAMS_EACH = 5  # the cap: 2,000 streams, every one of them allowed
WEB_THREADS = 8


def test_2000_streams_leave_healthz_callbacks_and_send_otp_answering(committed_org, live_members, pg_connections,
                                                                      monkeypatch):
    from payments.models import CallbackInbox, MpesaSettings

    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    challenge, members = live_members(MEMBERS)
    keys = [session_for(committed_org, member) for member in members]
    with schema_context(committed_org.schema_name):
        token = MpesaSettings.objects.get().callback_token
    host = f"{committed_org.slug}.{settings.BASE_DOMAIN}"
    before = pg_connections()

    def web_calls(port: int) -> list[tuple[str, int, float]]:
        """What must keep answering while the streams are open: (what, status, seconds)."""
        out = []
        for index in range(3):
            for name, call in (
                ("healthz", lambda: requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": host},
                                                 timeout=10)),
                ("confirmation", lambda: requests.post(
                    f"http://127.0.0.1:{port}/hooks/pay/{token}/c2b/confirmation", headers={"Host": host}, timeout=10,
                    json=c2b_payload(trans_id=f"RKTLOAD{index:03d}", amount="100",
                                     bill_ref=members[index].account_code, shortcode="600999"))),
                ("send-otp", lambda: requests.post(
                    f"http://127.0.0.1:{port}/api/v1/auth/send-otp", headers={"Host": host}, timeout=10,
                    json={"phone_number": f"+25471100{index:04d}"})),
            ):
                started = time.monotonic()
                response = call()
                out.append((name, response.status_code, time.monotonic() - started))
        return out

    async def scenario(live_port: int, web_port: int):
        url = f"http://127.0.0.1:{live_port}/challenges/{challenge.pk}/leaderboard/stream?seconds=60"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=30)) as http:
            async def one(key):
                resp = await http.get(url, headers=headers_for(committed_org, key))
                if resp.status == 200:
                    await read_events(resp, until=lambda e: len(e) >= 1, timeout=30)
                return resp

            started = time.monotonic()
            opened = await asyncio.gather(*(one(key) for key in keys for _ in range(STREAMS_EACH)))
            open_seconds = time.monotonic() - started
            during = pg_connections()
            calls = await asyncio.to_thread(web_calls, web_port)
            after_calls = pg_connections()
            statuses = [resp.status for resp in opened]
            for resp in opened:
                resp.close()
            return statuses, during, after_calls, calls, open_seconds

    with live_server() as web_port, hub_server() as live_port:
        statuses, during, after_calls, calls, open_seconds = asyncio.run(scenario(live_port, web_port))
    assert statuses.count(200) == MEMBERS * STREAMS_EACH, sorted(set(statuses))
    assert [(name, status) for name, status, _ in calls] == [
        (name, status) for _ in range(3) for name, status in (("healthz", 200), ("confirmation", 200),
                                                              ("send-otp", 202))]
    assert max(seconds for _, _, seconds in calls) < 5, calls
    # streams hold no connection: the live process's check pool and the web server's threads at most
    assert during - before <= settings.LIVE_DB_THREADS, (before, during)
    assert after_calls - before <= settings.LIVE_DB_THREADS + WEB_THREADS, (before, after_calls)
    with schema_context(committed_org.schema_name):
        assert CallbackInbox.objects.count() == 3  # every confirmation stored (crediting is the worker's job)
    print(f"2,000 streams opened in {open_seconds:.1f} s; pg backends {before} -> {during} -> {after_calls}")

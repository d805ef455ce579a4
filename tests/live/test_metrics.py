"""`savegame_live_streams_open` as the operator scrapes it: set by the Procfile's own `live` process
(a process of its own, prometheus-client multiprocess mode) and read by the web side's /metrics."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import aiohttp
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.live.conftest import headers_for, read_events, session_for
from tests.live.test_production import _start, _stop, _wait_up, procfile
from tests.payments.live import free_port

GAUGE = re.compile(r"^savegame_live_streams_open(?:\{[^}]*\})? (\S+)$", re.M)


def scrape() -> float:
    """What /metrics (the web side's view, this process) says now."""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    assert response.status_code == 200
    values = GAUGE.findall(response.content.decode())
    assert values, "savegame_live_streams_open is missing from the scrape"
    return sum(float(value) for value in values)


def _wait_for(value: float, timeout: float = 10) -> float:
    deadline = time.monotonic() + timeout
    seen = scrape()
    while seen != value and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = scrape()
    return seen


def _live_env(port: int) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, "DEBUG": "0", "LIVE_PORT": str(port), "DJANGO_SETTINGS_MODULE": "savegame.settings",
            "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY,
            "PROMETHEUS_MULTIPROC_DIR": settings.PROMETHEUS_MULTIPROC_DIR,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_open_streams_gauge_counts_the_live_process_streams_while_open_after_close_and_after_a_crash(
        committed_org, live_members):
    challenge, members = live_members(3)
    keys = [session_for(committed_org, member) for member in members]
    port = free_port()
    host = f"{committed_org.slug}.{settings.BASE_DOMAIN}"
    before = scrape()
    live = _start(procfile()["live"], _live_env(port))
    board = f"http://127.0.0.1:{port}/challenges/{challenge.pk}/leaderboard/stream"
    notices = f"http://127.0.0.1:{port}/live/notifications"

    async def hold(urls, then):
        async with aiohttp.ClientSession() as http:
            opened = []
            for url, key in urls:
                resp = await http.get(url, headers=headers_for(committed_org, key))
                assert resp.status == 200
                await read_events(resp, until=lambda e: len(e) >= 1, timeout=10)
                opened.append(resp)
            result = await asyncio.to_thread(then)
            for resp in opened:
                resp.close()
            return result

    try:
        _wait_up(f"http://127.0.0.1:{port}/live/notifications", host, live)
        streams = [(board, key) for key in keys] + [(notices, keys[0])]
        during = asyncio.run(hold(streams, lambda: _wait_for(before + 4)))
        after_close = _wait_for(before)
        # A live process that dies with streams open (SIGKILL: no close, no shutdown) is not counted on.
        crashed = asyncio.run(hold(streams[:2], lambda: (_wait_for(before + 2),
                                                          os.killpg(live.pid, signal.SIGKILL), live.wait(10),
                                                          _wait_for(before))))
    finally:
        log = _stop(live)
    assert (during, after_close) == (before + 4, before), log
    assert (crashed[0], crashed[3]) == (before + 2, before), log

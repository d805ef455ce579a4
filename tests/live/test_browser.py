"""The whole live path in a real browser, against the Procfile's own `web`, `live` and `worker`
commands with DEBUG=0: a deposit (Daraja's confirmation to our callback URL, the worker crediting and
scoring it) moves an open leaderboard, the member's home tiles and their notification stream within
2 s; with the `live` process stopped, both pages fall back to polling and still update."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.live.conftest import session_for
from tests.live.test_metrics import _live_env
from tests.live.test_production import ROOT, _wait_up, procfile
from tests.payments.conftest import c2b_payload
from tests.payments.live import free_port, wait_for

LIVE_BUDGET_S = 2.0


def _start_logged(command: str, env: dict, log) -> subprocess.Popen:
    """A Procfile command in its own process group, its output to a file (a worker's INFO log would
    fill a pipe nobody reads and block it)."""
    return subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _browser():
    from playwright.sync_api import sync_playwright

    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(path):
        if os.environ.get("REQUIRE_BROWSER"):
            raise AssertionError(f"no Chromium at {path}")
        pytest.skip("no Chromium")
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])


def test_a_deposit_moves_board_tiles_and_notices_live_then_pages_poll_without_the_live_process(
        committed_org, settings):
    from accounts.services import user_create
    from challenges.models import Challenge
    from challenges.services import challenge_create, local_today, participant_join
    from challenges.models import ScoredDeposit
    from payments.selectors import mpesa_callback_urls
    from payments.simulator import deliver

    schema = committed_org.schema_name
    with schema_context(schema):
        viewer = user_create(phone_number="+254712300001", name="Akinyi Otieno")
        rival = user_create(phone_number="+254712300002", name="Baraka Mwangi")
        challenge = challenge_create(actor=None, name="Live week", type=Challenge.Type.FIXED_AMOUNT,
                                     target={"amount": Decimal("500"), "frequency": "weekly"}, duration_days=28,
                                     start_date=local_today(), status=Challenge.Status.ACTIVE)
        participant_join(challenge=challenge, user=viewer)
        participant_join(challenge=challenge, user=rival)
    key = session_for(committed_org, viewer)

    web_port, live_port = free_port(), free_port()
    settings.SITE_PORT = str(web_port)  # the callback URLs Daraja is told point at this web process
    env = {**_live_env(live_port), "PORT": str(web_port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "4",
           "CELERY_CONCURRENCY": "2"}
    commands = procfile()
    host = f"{committed_org.slug}.{settings.BASE_DOMAIN}"
    logs = {name: tempfile.TemporaryFile() for name in ("web", "live", "worker")}
    web, live, worker = (_start_logged(commands[name], env, logs[name]) for name in ("web", "live", "worker"))
    with schema_context(schema):
        urls = mpesa_callback_urls(organization=committed_org)
    paid = {"n": 0}

    def pay(user, amount: str) -> str:
        paid["n"] += 1
        trans_id = f"TKLIVEB{paid['n']:03d}"
        now = timezone.now().astimezone(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S")
        body = c2b_payload(trans_id=trans_id, amount=amount, bill_ref=f"{user.account_code}{challenge.code}",
                           shortcode="600999", trans_time=now)
        assert deliver(urls["confirmation"], body) == 200
        return trans_id

    def scored(trans_id: str) -> bool:
        # Asked from a thread of its own: Playwright's sync API runs an event loop in this one.
        def ask():
            from django.db import connections

            try:
                with schema_context(schema):
                    return ScoredDeposit.objects.filter(transaction__transaction_id=trans_id).exists()
            finally:
                connections.close_all()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(ask).result()

    playwright = browser = None
    try:
        _wait_up(f"http://127.0.0.1:{web_port}/healthz", host, web)
        _wait_up(f"http://127.0.0.1:{live_port}/live/notifications", host, live)
        # Warm the pipeline (worker up, first scoring done): the rival leads, the viewer is second.
        first_rival = pay(rival, "1000.00")
        assert wait_for(lambda: scored(first_rival), timeout=90)
        first_viewer = pay(viewer, "100.00")
        assert wait_for(lambda: scored(first_viewer), timeout=60)

        playwright, browser = _browser()
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": f"http://{host}:{web_port}",
                              "httpOnly": True, "sameSite": "Lax"}])
        errors: list[str] = []
        board, home = context.new_page(), context.new_page()
        for page in (board, home):
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        board.goto(f"http://{host}:{web_port}/challenges/{challenge.pk}/leaderboard/")
        home.goto(f"http://{host}:{web_port}/")
        assert "Baraka Mwangi" in board.locator("#rows tr").first.inner_text()
        board.locator("#live-status[data-live=on]").wait_for(timeout=15_000)
        home.locator("#home-tiles[data-live=on]").wait_for(timeout=15_000)
        points_before = home.locator("[data-points]").inner_text()
        assert home.locator("[data-rank]").inner_text() == "#2"

        # Live: the viewer pays 2,000 and overtakes; measured from the deposit being scored.
        trans_id = pay(viewer, "2000.00")
        assert wait_for(lambda: scored(trans_id), timeout=60)
        started = time.monotonic()
        board.locator("#rows tr").first.filter(has_text="Akinyi Otieno").wait_for(timeout=10_000)
        board.locator("#me").filter(has_text=re.compile(r"You are number 1 with")).wait_for(timeout=10_000)
        home.locator("[data-rank]").filter(has_text=re.compile(r"^#1$")).wait_for(timeout=10_000)
        home.locator("#live-notices [data-notice=deposit_confirmed]").first.wait_for(timeout=10_000)
        live_seconds = time.monotonic() - started
        assert home.locator("[data-points]").inner_text() != points_before
        assert live_seconds <= LIVE_BUDGET_S, f"live updates took {live_seconds:.2f} s"

        # The live process goes away: both pages poll and still update.
        _end(live)
        board.locator("#live-status[data-live=off]").wait_for(timeout=30_000)
        home.locator("#home-tiles[data-live=off]").wait_for(timeout=30_000)
        points_live = home.locator("[data-points]").inner_text()
        notices_before = home.locator("#live-notices [data-notice=deposit_confirmed]").count()
        trans_id = pay(rival, "5000.00")
        assert wait_for(lambda: scored(trans_id), timeout=60)
        board.locator("#rows tr").first.filter(has_text="Baraka Mwangi").wait_for(timeout=30_000)
        board.locator("#me").filter(has_text=re.compile(r"You are number 2 with")).wait_for(timeout=30_000)
        home.locator("[data-rank]").filter(has_text=re.compile(r"^#2$")).wait_for(timeout=30_000)
        trans_id = pay(viewer, "300.00")
        assert wait_for(lambda: scored(trans_id), timeout=60)
        home.locator("#live-notices [data-notice=deposit_confirmed]").nth(notices_before).wait_for(timeout=30_000)
        assert wait_for(lambda: home.locator("[data-points]").inner_text() != points_live, timeout=30)
        # EventSource's own reconnect attempts to the stopped process are the only console errors.
        assert [e for e in errors if "live/notifications" not in e and "leaderboard/stream" not in e
                and "ERR_CONNECTION_REFUSED" not in e] == []
    finally:
        if browser is not None:
            browser.close()
            playwright.stop()
        for process in (web, live, worker):
            _end(process)
        output = {}
        for name, log in logs.items():
            log.seek(0)
            output[name] = log.read().decode(errors="replace")[-4000:]
            log.close()
    assert "Traceback" not in output["live"], output["live"]

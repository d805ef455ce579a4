"""Browser tests: real headless Chromium (Debian's) driven by Playwright against a live ASGI server.

Fixtures (see docs/E2E.md for a worked example):
- `browser`            Chromium for the test module (CHROMIUM_PATH, default /usr/bin/chromium). Skips the
                       e2e tests when it is missing, unless REQUIRE_BROWSER=1 (CI), which fails them.
- `live_site`          uvicorn serving savegame.asgi on 127.0.0.1:<ephemeral>, against the test
                       database; `live_site.url(org, "/path")` -> http://<slug>.localhost:<port>/path
- `e2e_org`            a fresh organization with committed data (dropped afterwards); its admin is
                       `e2e_org.admin` (phone +254722000001). `e2e_org_factory()` makes more.
- `make_user(org, name=, phone=, role=)` a committed user in that org's schema.
- `new_page(viewport="mobile"|"desktop", org=None, user=None)` a page in a fresh browser context
                       (signed in as `user` on `org`'s host when given), with `page.console_errors`.
- `sign_in(context, org, user)` put a real session cookie for `user` into a context.
- `owner_page(viewport="desktop")` (page, base): signed in as a platform superuser on the platform host.
- `shot(page, name)`   screenshot (phone: the screen; desktop: the whole page) to
                       test-artifacts/screenshots/<name>-<viewport>.png.
- `sms_to(phone)`      messages the file SMS backend wrote to `phone` (for OTP login flows).
- `with_db(org)`       context manager: run ORM code in an org's schema from a test body.
- `worker`             a real Celery worker (threads) on every declared queue for the test.
- `callbacks_to_live_site` our Daraja callback URLs (payments.selectors.mpesa_callback_urls) point
                       at the live server (settings.SITE_PORT).
- `daraja`             the local Daraja simulator (payments/simulator.py) on an ephemeral port,
                       calling back after 3 s; script outcomes with `daraja.script = ["cancel"]`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django_tenants.utils import schema_context

from tests.payments.live import every_queue

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", Path(settings.BASE_DIR) / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORTS = {"mobile": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server",
    # *.localhost is loopback in Chromium already; pin it to the IPv4 address the server binds.
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            # Declares the database need so pytest-django sets the test database up even when only
            # e2e tests run; `_django_db_helper` below keeps it from wrapping them in a transaction.
            item.add_marker(pytest.mark.django_db)


@pytest.fixture
def _django_db_helper(django_db_setup, django_db_blocker):
    """e2e tests work on committed data (the live server's threads must see it): database access
    without the rolled-back transaction (or the flush) pytest-django would otherwise wrap around them."""
    with django_db_blocker.unblock():
        yield


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if os.path.exists(path) else shutil.which("chromium")


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwright(monkeypatch):
    # Playwright's sync API keeps an asyncio loop "running" in this thread; the ORM calls made by
    # fixtures and test bodies are plain synchronous code, so let Django allow them here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker):
    # Module scope, not session: while Playwright runs, its event loop counts as "running" in this
    # thread, which Django's ORM refuses outside the e2e tests; it stops after each e2e module.
    path = _chromium_path()
    if not path:
        message = "Chromium not found (set CHROMIUM_PATH or apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("playwright is not installed")
        pytest.skip("playwright is not installed")
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary user-data-dir of its own.
        chromium = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    # With Playwright's loop in this thread, Django keeps a separate connection for the e2e tests'
    # context; close it, or the test database cannot be dropped at the end of the run.
    connections.close_all()


class LiveServer:
    def __init__(self, port: int):
        self.port = port

    def url(self, organization, path: str = "/") -> str:
        return f"http://{organization.slug}.localhost:{self.port}{path}"

    def origin(self, organization) -> str:
        return self.url(organization, "")


@pytest.fixture
def live_site(django_db_blocker, browser):
    """uvicorn + savegame.asgi in a thread on 127.0.0.1, port chosen by the OS.

    Not named `live_server`: pytest-django would then switch the test to transactional_db, whose
    flush empties the public tenants table.
    """
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from savegame.asgi import application

    # Server threads must not keep connections past a request, or the test database cannot be
    # dropped at the end of the session.
    db_settings = connection.settings_dict
    max_age = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0
    config = uvicorn.Config(ASGIStaticFilesHandler(application), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", ws="none")
    server = uvicorn.Server(config)
    with django_db_blocker.unblock():
        thread = threading.Thread(target=server.run, name="e2e-live-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the live server did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield LiveServer(port)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            db_settings["CONN_MAX_AGE"] = max_age


@pytest.fixture
def e2e_org_factory(django_db_setup, django_db_blocker):
    """`e2e_org_factory(name=..., branding=...)` -> a committed organization, dropped after the test."""
    from accounts.models import User
    from tenants.models import Organization
    from tenants.services import organization_create, organization_update

    made: list[Organization] = []

    def make(name: str | None = None, branding: dict | None = None, admin_phone: str = "+254722000001"):
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            slug = f"e2e-{uuid.uuid4().hex[:8]}"
            organization = organization_create(slug=slug, name=name or f"E2E {slug[4:]}", type="chama",
                                               admin_phone=admin_phone, admin_name="Leader", shortcode="600999")
            made.append(organization)
            if branding:
                organization = organization_update(organization=organization,
                                                   data={"branding": {**organization.branding, **branding}})
            with schema_context(organization.schema_name):
                organization.admin = User.objects.get(phone_number=admin_phone)
            return organization

    yield make
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for organization in made:
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)
    connections.close_all()


@pytest.fixture
def e2e_org(e2e_org_factory):
    return e2e_org_factory(name="Umoja Test Chama")


@pytest.fixture
def with_db(django_db_blocker):
    @contextmanager
    def run(organization=None):
        with django_db_blocker.unblock():
            if organization is None:
                with schema_context(settings.PUBLIC_SCHEMA_NAME):
                    yield
            else:
                with schema_context(organization.schema_name):
                    yield
            connection.set_schema_to_public()

    return run


@pytest.fixture
def make_user(with_db):
    def make(organization, *, name: str = "Akinyi Otieno", phone: str = "+254712345678", role: str = "member",
             language: str = ""):
        from accounts.services import user_create

        with with_db(organization):
            return user_create(phone_number=phone, name=name, role=role, language=language)

    return make


@pytest.fixture
def sign_in(with_db, live_site):
    """Give a browser context a real session for `user` on `organization`'s host."""

    def do(context, organization, user):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        from accounts.backends import SESSION_BACKEND

        with with_db(organization):
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = SESSION_BACKEND  # as the OTP login names it
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
            "url": live_site.origin(organization), "httpOnly": True, "sameSite": "Lax",
        }])
        return session.session_key

    return do


@pytest.fixture
def new_page(browser, live_site, sign_in):
    """`new_page(viewport="mobile", org=None, user=None, **context_options)` -> a Playwright page.

    Each page has its own fresh context (cookies, storage, service workers). Console errors and
    uncaught page errors are collected in `page.console_errors`.
    """
    contexts = []

    def make(viewport: str = "mobile", org=None, user=None, **options):
        options.setdefault("viewport", VIEWPORTS[viewport])
        if viewport == "mobile":
            options.setdefault("is_mobile", True)
            options.setdefault("has_touch", True)
            options.setdefault("device_scale_factor", 2)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        if org is not None and user is not None:
            sign_in(context, org, user)
        page = context.new_page()
        page.viewport_name = viewport
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def owner_page(new_page, live_site, with_db):
    """`owner_page(viewport="desktop")` -> (page, base): a page signed in as a platform superuser on the
    platform host (Django admin), and that host's base URL."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.backends import SESSION_BACKEND

    from accounts.models import User

    def make(viewport: str = "desktop", phone: str = "+254799000088"):
        with with_db():
            owner = User.objects.filter(phone_number=phone).first() or User.objects.create_superuser(
                phone, password="a-long-platform-password")
            session = SessionStore()
            session[SESSION_KEY] = str(owner.pk)
            session[BACKEND_SESSION_KEY] = SESSION_BACKEND
            session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
            session.create()
        base = f"http://localhost:{live_site.port}"
        page = new_page(viewport)
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base,
                                   "httpOnly": True, "sameSite": "Lax"}])
        return page, base

    return make


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool | None = None) -> Path:
        viewport = getattr(page, "viewport_name", "page")
        path = SCREENSHOTS / f"{name}-{viewport}.png"
        # Phones: what the screen shows; desktop: the whole page.
        page.screenshot(path=str(path), full_page=viewport != "mobile" if full_page is None else full_page)
        return path

    return take


@pytest.fixture
def sms_to():
    """`sms_to(phone)` -> messages (dicts, newest last) the file SMS backend wrote to `phone`."""

    def read(phone: str) -> list[dict]:
        path = Path(settings.SMS_FILE_PATH)
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [row for row in rows if row.get("to") == phone]

    return read


@pytest.fixture
def worker():
    """A real Celery worker (threads) consuming every queue (celery, payments, notifications)."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from savegame.celery import app as celery_app

    from celery.signals import task_postrun

    def close_connections(**_kwargs):
        connections.close_all()  # in the worker thread: the test database must be droppable at the end

    task_postrun.connect(close_connections, weak=False)
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10,
                          queues=every_queue()):
            yield
    finally:
        celery_app.conf.task_always_eager = previous
        task_postrun.disconnect(close_connections)
        connections.close_all()


@pytest.fixture
def callbacks_to_live_site(settings, live_site):
    """Our callback URLs (what Daraja is told) point at the live test server."""
    settings.SITE_PORT = str(live_site.port)
    return live_site


@pytest.fixture
def daraja(settings):
    """The local Daraja stand-in on 127.0.0.1:<ephemeral>, calling back after a short delay."""
    from payments.simulator import DarajaSimulator

    simulator = DarajaSimulator("127.0.0.1", 0, delay=3.0, cancel_rate=0, duplicate_rate=0, drop_rate=0,
                                out_of_order_rate=0).start()
    settings.MPESA_SIMULATOR_URL = simulator.url
    yield simulator
    simulator.stop()


def fetch_in_page(page, url: str, method: str = "GET") -> dict:
    """Fetch from inside the page (Chromium's network stack resolves *.localhost; Playwright's
    own request client does not). Returns {"status", "type", "text"}."""
    return page.evaluate("""async ([url, method]) => {
        const r = await fetch(url, {method, credentials: 'same-origin'});
        return {status: r.status, type: r.headers.get('content-type'), text: await r.text()};
    }""", [url, method])


def page_weight(page) -> dict:
    """Bytes (decoded) of the document plus its CSS and JS, as the browser saw them."""
    return page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const res = performance.getEntriesByType('resource')
            .filter(r => ['link', 'script', 'css'].includes(r.initiatorType) && /\\.(css|js)(\\?|$)/.test(r.name));
        const assets = res.reduce((n, r) => n + (r.decodedBodySize || 0), 0);
        return {document: nav ? nav.decodedBodySize : 0, assets, files: res.map(r => r.name)};
    }""")

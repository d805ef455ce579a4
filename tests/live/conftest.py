"""Live-hub fixtures: the `live` app under uvicorn in a thread, members with real sessions, an SSE reader."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection, connections
from django_tenants.utils import schema_context


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/live/" in str(item.fspath).replace("\\", "/"):
            # Declares the database need (pytest-django sets the test database up only for marked tests);
            # `_django_db_helper` below keeps it from wrapping them in a transaction the servers cannot see.
            item.add_marker(pytest.mark.django_db)


@pytest.fixture
def _django_db_helper(django_db_setup, django_db_blocker):
    """Live tests work on committed data (committed_org): database access without a rolled-back transaction."""
    with django_db_blocker.unblock():
        yield


@contextmanager
def hub_server(app=None):
    """uvicorn serving the live app (or `app`) on 127.0.0.1:<ephemeral>, with lifespan, in a thread."""
    import uvicorn

    from live import access
    from live.app import build

    access.access_forget()
    config = uvicorn.Config(app or build(), host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                            ws="none", backlog=4096, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-hub-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        access.access_forget()


def session_for(organization, user) -> str:
    """A real session for `user` in `organization`'s schema; returns its key (the cookie's value)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.backends import SESSION_BACKEND

    with schema_context(organization.schema_name):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = SESSION_BACKEND  # as the OTP login names it
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    return session.session_key


def headers_for(organization, session_key: str | None = None, **extra) -> dict:
    headers = {"Host": f"{organization.slug}.{settings.BASE_DOMAIN}", **extra}
    if session_key:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    return headers


class PgCounter:
    """Counts the backends connected to this test database (other engineers' databases not counted),
    through a connection of its own that it leaves out, so it can be asked from any thread or loop."""

    def __init__(self):
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        self._conn = psycopg.connect(**params, autocommit=True)

    def __call__(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()").fetchone()
        return row[0]

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
def pg_connections():
    counter = PgCounter()
    yield counter
    counter.close()


async def read_events(response, *, until, timeout: float) -> list[tuple[str, str, str | None]]:
    """Read SSE events (event, data, id) from an aiohttp response until `until(events)` or the timeout."""
    events: list[tuple[str, str, str | None]] = []
    event, data, event_id = "message", [], None
    try:
        async with asyncio.timeout(timeout):
            while not until(events):
                raw = await response.content.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\n")
                if not line:
                    if data:
                        events.append((event, "\n".join(data), event_id))
                    event, data, event_id = "message", [], None
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("id: "):
                    event_id = line[4:]
    except TimeoutError:
        pass
    return events


@pytest.fixture
def live_members(committed_org):
    """`live_members(n)` -> (challenge, n new members who joined it), committed in a committed organization."""
    from accounts.factories import UserFactory
    from accounts.models import User
    from challenges.models import Challenge
    from challenges.services import challenge_create, local_today, participant_join

    state: dict = {"users": []}

    def make(n: int = 1):
        with schema_context(committed_org.schema_name):
            if "challenge" not in state:
                admin = User.objects.get(phone_number="+254722000001")
                challenge = challenge_create(actor=admin, name="Live board", type="fixed_amount",
                                             target={"amount": "100", "frequency": "weekly"}, duration_days=30,
                                             start_date=local_today(), status="draft")
                Challenge.objects.filter(pk=challenge.pk).update(status="active")
                state["challenge"] = Challenge.objects.get(pk=challenge.pk)
            users = [UserFactory() for _ in range(n)]
            for user in users:
                participant_join(challenge=state["challenge"], user=user)
            state["users"] += users
        return state["challenge"], users

    yield make
    connections.close_all()

"""Who may open a stream: checked once per new stream, in a small thread pool of the live process.

The check (host -> organization, session -> member, may this member see that challenge) needs
PostgreSQL. It runs in `LIVE_DB_THREADS` threads of our own, so the live process holds at most
that many database connections however many streams are open (a stream itself never holds one),
and the answer is remembered for `LIVE_ACCESS_CACHE_SECONDS`, so a reconnect storm costs Redis and
memory, not the database.
"""

from __future__ import annotations

import asyncio
import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django_tenants.utils import schema_context

_pool: ThreadPoolExecutor | None = None
_opened: set = set()  # the pool threads' Django connection wrappers, closed at shutdown


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.LIVE_DB_THREADS, thread_name_prefix="live-db")
    return _pool


def _in_thread(fn, kwargs):
    # A connection kept by this pool thread is reused (at most LIVE_DB_THREADS of them); one that
    # died (PostgreSQL restarted) is dropped first. search_path is set again by set_tenant each time.
    if connection.connection is not None and not connection.is_usable():
        connection.close()
    _opened.add(connections[DEFAULT_DB_ALIAS])
    try:
        return fn(**kwargs)
    except Exception:
        connection.close()  # never keep a connection in an unknown state
        raise
    finally:
        connection.set_schema_to_public()


def shutdown() -> None:
    """Stop the pool and close the connections its threads kept (at the process's shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    for wrapper in list(_opened):
        raw = getattr(wrapper, "connection", None)
        if raw is not None:
            raw.close()
    _opened.clear()


async def run(fn, **kwargs):
    """Run a sync function that touches the database in the live process's own small pool."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), functools.partial(_in_thread, fn, kwargs))


@dataclass(frozen=True)
class Access:
    status: int  # 200 may stream; 400 no such team in it; 401 not signed in; 404 no such organization or challenge
    schema: str = ""
    user_id: int = 0
    role: str = ""


MISSING = Access(404)
ANONYMOUS = Access(401)

_cache: dict[tuple, tuple[float, Access]] = {}
_CACHE_MAX = 50_000


def stream_access(*, hostname: str, session_key: str, challenge_id: int | None = None,
                  team_id: int | None = None) -> Access:
    """May the holder of this session, on this host, watch this challenge (its team's board, or their
    own notices)? A team that is not this challenge's answers 400, as the leaderboard API does."""
    from challenges.selectors import access_challenge
    from tenants.models import Domain
    from tenants.selectors import organization_for_host_local

    try:
        organization = organization_for_host_local(hostname=hostname)
    except Domain.DoesNotExist:
        return MISSING
    if organization.schema_name == settings.PUBLIC_SCHEMA_NAME or organization.is_suspended:
        return MISSING
    if not session_key:
        return ANONYMOUS
    connection.set_tenant(organization)
    engine = import_module(settings.SESSION_ENGINE)
    user = auth.get_user(SimpleNamespace(session=engine.SessionStore(session_key)))
    if not user.is_authenticated:
        return ANONYMOUS
    if challenge_id is not None and access_challenge(user=user, challenge_id=challenge_id) is None:
        return MISSING
    if team_id is not None:
        from challenges.models import Team

        if not Team.objects.filter(pk=team_id, challenge_id=challenge_id).exists():
            return Access(400)
    return Access(200, organization.schema_name, user.pk, user.role)


_inflight: dict[tuple, asyncio.Future] = {}


async def stream_access_cached(*, hostname: str, session_key: str, challenge_id: int | None = None,
                               team_id: int | None = None) -> Access:
    """`stream_access`, remembered for LIVE_ACCESS_CACHE_SECONDS; concurrent asks for the same key
    (a member opening many tabs, a reconnect storm) share one check."""
    key = (hostname.lower(), session_key, challenge_id, team_id)
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    pending = _inflight.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    pending = _inflight[key] = asyncio.get_running_loop().create_future()
    try:
        access = await run(stream_access, hostname=hostname, session_key=session_key, challenge_id=challenge_id,
                           team_id=team_id)
    except BaseException as exc:
        pending.set_exception(exc)
        pending.exception()  # retrieved: the waiters re-raise it
        raise
    finally:
        _inflight.pop(key, None)
    pending.set_result(access)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[key] = (time.monotonic() + settings.LIVE_ACCESS_CACHE_SECONDS, access)
    return access


def access_forget() -> None:
    _cache.clear()
    _inflight.clear()


def board_ensure(*, schema: str, challenge_id: int) -> None:
    """Rebuild a leaderboard into Redis from PostgreSQL if Redis has lost it."""
    from challenges import leaderboard

    with schema_context(schema):
        leaderboard.board_read(challenge_id=challenge_id, limit=1)


def tiles_read(*, schema: str, user_id: int) -> dict | None:
    """The member's home tiles from the owning selector (settings.LIVE_TILES: the web app's
    `member_home_tiles`), in the member's language; None if they are gone."""
    from django.utils import translation
    from django.utils.module_loading import import_string

    from accounts.models import User
    from tenants.models import Organization

    organization = Organization.objects.filter(schema_name=schema).first()
    if organization is None:
        return None
    connection.set_tenant(organization)  # as a request would (selectors read the tenant); reset by the pool
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    with translation.override(user.language or getattr(organization, "language", "") or settings.LANGUAGE_CODE):
        return import_string(settings.LIVE_TILES)(user=user, organization=organization)

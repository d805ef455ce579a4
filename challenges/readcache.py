"""The game's read cache (the brief's caching strategy, issue 13): a member's points for minutes, the
challenges they joined until they join another, and the challenge list until a challenge changes. Values live in Django's cache (Redis), whose key
function prefixes every key with the tenant schema (django_tenants.cache.make_key), so one
organization never reads another's. The selectors own the numbers; this module only keeps what they
computed and forgets it when the game writes.

Forgetting happens twice: at once (the writer's own transaction reads fresh values) and after the
commit (a reader that refilled the cache from the last committed state before the commit is
overwritten). Redis down: reads compute, forgets are logged and the TTL bounds what stays stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

POINTS_TTL = 300  # the brief: a member's profile and points for minutes
LIST_TTL = 3600  # until a challenge changes (forgotten on every write); the TTL only bounds a lost forget
_MISSING = object()


def points_key(user_id: int) -> str:
    return f"game:points:{int(user_id)}"


def achievements_key(user_id: int, language: str) -> str:
    return f"game:achievements:{int(user_id)}:{language}"


def joined_key(user_id: int) -> str:
    return f"game:joined:{int(user_id)}"


def list_key(*, admin: bool) -> str:
    return f"game:challenges:{'admin' if admin else 'member'}"


def cached(key: str, ttl: int, compute: Callable[[], object]):
    try:
        value = cache.get(key, _MISSING)
    except Exception:
        logger.warning("cache unavailable; %s computed", key.split(":")[1])
        return compute()
    if value is _MISSING:
        value = compute()
        try:
            cache.set(key, value, ttl)
        except Exception:
            pass
    return value


def cached_many(computes: dict[str, tuple[int, Callable[[], object]]]) -> dict[str, object]:
    """cached() for several keys in one round trip: {key: (ttl, compute)} -> {key: value}."""
    try:
        found = cache.get_many(list(computes))
    except Exception:
        logger.warning("cache unavailable; %d values computed", len(computes))
        return {key: compute() for key, (_ttl, compute) in computes.items()}
    missing = {key: compute() for key, (_ttl, compute) in computes.items() if key not in found}
    for key, value in missing.items():
        try:
            cache.set(key, value, computes[key][0])
        except Exception:
            pass
    return {**found, **missing}


def _forget(keys: list[str]) -> None:
    if not keys:
        return

    def drop():
        try:
            cache.delete_many(keys)
        except Exception:
            logger.warning("cache unavailable; %d keys left to their TTL", len(keys))

    drop()
    transaction.on_commit(drop)


def points_forget(*, user_ids: Iterable[int]) -> None:
    """Points or badges were awarded or taken back for these members (their achievements too, in
    every language the site speaks)."""
    from django.conf import settings

    users = {u for u in user_ids if u}
    _forget(sorted({points_key(u) for u in users}
                   | {achievements_key(u, code) for u in users for code, _name in settings.LANGUAGES}))


def joined_forget(*, user_id: int) -> None:
    """The member joined a challenge."""
    _forget([joined_key(user_id)])


def challenges_forget() -> None:
    """A challenge row changed (created, edited, published, settled, deleted, joined, saved into)."""
    _forget([list_key(admin=False), list_key(admin=True)])

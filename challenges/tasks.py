"""Celery tasks for the gamification engine. Each runs in the tenant schema it was sent from
(tenant-schemas-celery); arguments are ids, never model instances."""

from __future__ import annotations

from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from savegame.tasknames import task

TRANSIENT = (OperationalError, RedisConnectionError)


@task("challenges.lifecycle_run", formerly=["challenges.lifecycle"], acks_late=True, autoretry_for=TRANSIENT,
      retry_backoff=True, max_retries=3, time_limit=600, soft_time_limit=540)
def challenges_lifecycle_task() -> dict:
    from challenges.services import challenges_lifecycle

    return challenges_lifecycle()


@task("challenges.streaks_at_risk_warn", formerly=["challenges.streaks_at_risk"], acks_late=True,
      autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, time_limit=600, soft_time_limit=540)
def streaks_at_risk_task() -> int:
    from challenges.services import streaks_at_risk

    return streaks_at_risk()


@task("challenges.leaderboards_snapshot", acks_late=True, time_limit=25, soft_time_limit=20,
      ignore_result=True)
def leaderboards_snapshot_task() -> int:
    """Every 30 s; a missed run is simply caught up by the next one (no retries)."""
    from challenges.services import leaderboards_snapshot

    return leaderboards_snapshot()


@task("challenges.deposits_reversed_sweep", acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True,
      max_retries=3, time_limit=300, soft_time_limit=270)
def deposits_reversed_sweep_task() -> int:
    """Safety net: a reversed deposit whose claw-back was lost is taken back within minutes (idempotent)."""
    from challenges.services import deposits_reversed_sweep

    return deposits_reversed_sweep()


@task("challenges.streak_freezes_sync", acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True,
      max_retries=3, time_limit=600, soft_time_limit=540)
def streak_freezes_sync_task() -> int:
    """Issue 18: a streak window that closed with no deposit spends a freeze (or breaks the streak)."""
    from challenges.freezes import freezes_sync_all

    return freezes_sync_all()

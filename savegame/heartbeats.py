"""Worker heartbeats and beat's ticks in Redis, for /readyz?role=worker|beat and /metrics.

- Each Celery worker (its main process) writes `now` into the sorted set `sg:public:ops:workers`
  under its hostname every OPS_HEARTBEAT_SECONDS, from a daemon thread started on `worker_ready`.
- beat runs `savegame.heartbeats.BeatScheduler` (the Procfile names it): each tick stamps
  `sg:public:ops:beat` (field `tick`), and each periodic task sent stamps its own field in
  `sg:public:ops:beat-runs`. Any web process can then answer for workers and beat on other hosts.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from savegame.beat import ResilientTenantAwareScheduler
from savegame.redis import redis_client, tenant_key

logger = logging.getLogger(__name__)


def _key(*parts: str) -> str:
    return tenant_key("ops", *parts, schema="public")


WORKERS_KEY = _key("workers")
BEAT_KEY = _key("beat")
BEAT_RUNS_KEY = _key("beat-runs")
FORGET_WORKER_AFTER = 24 * 3600


def worker_heartbeat(*, hostname: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    pipe = redis_client().pipeline()
    pipe.zadd(WORKERS_KEY, {hostname: now})
    pipe.zremrangebyscore(WORKERS_KEY, "-inf", now - FORGET_WORKER_AFTER)
    pipe.execute()


def worker_heartbeats() -> dict[str, float]:
    """{worker hostname: seconds since its last heartbeat} (workers seen in the last day)."""
    now = time.time()
    return {name: max(0.0, now - score) for name, score in redis_client().zrange(WORKERS_KEY, 0, -1, withscores=True)}


def workers_alive() -> int:
    stale = settings.READYZ_WORKER_STALE_SECONDS
    return sum(1 for age in worker_heartbeats().values() if age <= stale)


def beat_tick(*, now: float | None = None) -> None:
    redis_client().hset(BEAT_KEY, "tick", time.time() if now is None else now)


def beat_tick_age() -> float | None:
    value = redis_client().hget(BEAT_KEY, "tick")
    return None if value is None else max(0.0, time.time() - float(value))


def beat_runs() -> dict[str, float]:
    """{periodic task entry name: unix time beat last sent it}."""
    return {name: float(value) for name, value in redis_client().hgetall(BEAT_RUNS_KEY).items()}


class _Heartbeat(threading.Thread):
    def __init__(self, hostname: str):
        super().__init__(name="savegame-heartbeat", daemon=True)
        self.hostname = hostname
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                worker_heartbeat(hostname=self.hostname)
            except Exception:  # Redis down: /readyz?role=worker says so once the heartbeat is stale
                logger.warning("worker heartbeat not written", extra={"worker": self.hostname})
            self.stopped.wait(settings.OPS_HEARTBEAT_SECONDS)


_heartbeats: dict[str, _Heartbeat] = {}


def on_worker_ready(*, sender=None, **kwargs) -> None:
    """`worker_ready` (connected in savegame/celery.py)."""
    hostname = getattr(sender, "hostname", None) or "worker"
    if hostname not in _heartbeats:
        _heartbeats[hostname] = thread = _Heartbeat(hostname)
        thread.start()


def on_worker_shutdown(*, sender=None, **kwargs) -> None:
    """`worker_shutdown`: the worker leaves the set at once instead of going stale."""
    for hostname, thread in list(_heartbeats.items()):
        thread.stopped.set()
        _heartbeats.pop(hostname, None)
        try:
            redis_client().zrem(WORKERS_KEY, hostname)
        except Exception:
            pass


class BeatScheduler(ResilientTenantAwareScheduler):
    """The beat the Procfile runs: our resilient tenant-aware scheduler (savegame/beat.py: a tick never
    raises), stamping its ticks and each periodic task it sends for /readyz?role=beat and /metrics."""

    _last_stamp = 0.0

    def tick(self, *args, **kwargs):
        now = time.time()
        if now - self._last_stamp >= 5:  # beat may tick many times a second when several tasks are due
            try:
                beat_tick(now=now)
                self._last_stamp = now
            except Exception:
                logger.warning("beat tick not stamped (Redis down?)")
        return super().tick(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        result = super().apply_entry(entry, producer=producer)
        try:
            from savegame.metrics import BEAT_TASK_SENT

            BEAT_TASK_SENT.labels(entry=entry.name.split("@", 1)[0]).inc()
            redis_client().hset(BEAT_RUNS_KEY, entry.name.split("@", 1)[0], time.time())
        except Exception:
            logger.warning("beat run not stamped", extra={"entry": entry.name})
        return result

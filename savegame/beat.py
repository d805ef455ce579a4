"""Beat that outlives its dependencies (issue 20).

tenant-schemas-celery's TenantAwareScheduler.apply_entry lists the organizations with a database query
before it sends an entry. With PostgreSQL stopped that query raised OperationalError out of
Scheduler.tick, and celery beat exits on any exception from tick: the sweeps stopped until a person
restarted beat. The fix belongs upstream (apply_entry already logs a failed send per schema, but not a
failed tenant lookup); until then this subclass is what the Procfile runs:

- a send that fails -- the tenant lookup (PostgreSQL down) or the publish (Redis down) -- is logged and
  kept, and tried again on the next ticks with back-off (1 s doubling to BEAT_RETRY_MAX_SECONDS), so
  the sweep runs within seconds of the dependency coming back instead of at its next period;
- the database connection is dropped after a database error, so the next try opens a fresh one;
- any other error in a tick is logged and beat sleeps the back-off instead of exiting.

A crashed process is still the supervisor's to restart (docs/RELIABILITY.md "Supervisor rule").
"""

from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django_tenants.utils import schema_context
from tenant_schemas_celery.scheduler import TenantAwareScheduler

logger = logging.getLogger(__name__)

BEAT_RETRY_MAX_SECONDS = 8.0
DATABASE_DOWN = (OperationalError, InterfaceError)


class ResilientTenantAwareScheduler(TenantAwareScheduler):
    """TenantAwareScheduler whose ticks never raise: failed sends are kept and retried with back-off."""

    def __init__(self, *args, **kwargs):
        # entry name -> (entry, schema or None for "every tenant"): sends that failed and are owed
        self._owed: dict[tuple[str, str | None], object] = {}
        self._failures = 0
        self._retry_at = 0.0
        super().__init__(*args, **kwargs)

    # --- sending -----------------------------------------------------------------------------------

    def apply_entry(self, entry, producer=None):
        try:
            super().apply_entry(entry, producer=producer)
        except DATABASE_DOWN as exc:  # the tenant lookup: nothing was sent for this entry
            self._owe(entry, None, exc)
            connections.close_all()

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        try:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except Exception as exc:  # the publish (the mixin logs it and carries on with the next schema)
            from django.db import connection

            self._owe(entry, connection.schema_name, exc)
            self.__dict__.pop("producer", None)  # a fresh broker connection next time
            raise

    def _owe(self, entry, schema: str | None, exc: BaseException) -> None:
        self._owed[(entry.name, schema)] = entry
        self._back_off()
        logger.warning("beat could not send %s%s; retrying in %.0f s", entry.name,
                       f" to {schema}" if schema else "", self._retry_at - time.monotonic(),
                       extra={"error": str(exc)[:200]})

    def _back_off(self) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + min(BEAT_RETRY_MAX_SECONDS, 2.0 ** (self._failures - 1))

    def _send_owed(self) -> None:
        owed, self._owed = self._owed, {}
        for (name, schema), entry in owed.items():
            if schema is None:
                self.apply_entry(entry, producer=self.producer)  # owes itself again if it fails
            else:
                with schema_context(schema):
                    try:
                        self.apply_async(entry, producer=self.producer, advance=False)
                    except Exception:
                        pass  # owed again (apply_async recorded it)
        if not self._owed:
            if owed:
                logger.info("beat caught up on %d owed sends", len(owed))
            self._failures = 0

    # --- the loop ----------------------------------------------------------------------------------

    def tick(self, *args, **kwargs):
        try:
            if self._owed:
                wait = self._retry_at - time.monotonic()
                if wait > 0:
                    return wait  # still backing off; entries falling due meanwhile wait in the heap
                self._send_owed()
                if self._owed:  # the dependency is still down
                    return max(0.0, self._retry_at - time.monotonic())
            return super().tick(*args, **kwargs)
        except Exception:  # anything else (a broker that will not connect, a bug): log, wait, carry on
            logger.exception("beat tick failed; carrying on")
            connections.close_all()
            self.__dict__.pop("producer", None)
            self._back_off()
            return max(0.0, self._retry_at - time.monotonic())

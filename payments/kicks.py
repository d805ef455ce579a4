"""Coalesced drain kicks: a web process kicks each organization's drain at most once per window.

Every stored callback must be followed by a kick (payments.inbox.inbox_kick: a Redis SET NX, and a
publish when no drain is queued). Made inline, that one Redis round trip cost a callback about 0.15 ms of
its ~0.6 ms of Python time (docs/BENCHMARKS.md). With PAYMENTS_KICK_COALESCE_MS > 0, the request only
notes its organization. One thread per process kicks every noted organization at once, then waits the
window before it looks again. A burst then costs each process at most one kick per organization per
window instead of one per callback, and a lone callback is kicked at once.

Why no row is stranded: an organization is noted after its row has committed, and the thread takes the
notes before it kicks. So every row gets a kick that starts after its commit, which is the guarantee an
inline kick gives. The price is at most one window of extra delay before the drain. A process that dies
between taking notes and kicking leaves those rows to the beat sweep (payments.inbox_sweep), as a crash
between commit and an inline kick always did. Notes still pending when the interpreter exits are kicked
on the way out.

A kick that Redis or the broker does not take (Redis down) is kept, not dropped: the thread tries it
again every PAYMENTS_KICK_RETRY_SECONDS until Redis answers, so no stored row waits for the beat sweep
(issue 20; before, such rows waited up to 161 s for beat). Inline kicks that fail are kept the same way.

PAYMENTS_KICK_COALESCE_MS = 0 kicks inline, in the request (the tests' default: with eager Celery a kick
runs the drain, which must see the test's own transaction).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection, connections

logger = logging.getLogger(__name__)


class KickCoalescer:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child starts with no thread and no notes
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: set[str] = set()
        self._owed: set[str] = set()  # kicks Redis or the broker did not take: tried again until they go
        self._thread: threading.Thread | None = None

    def owe(self, schema_name: str) -> None:
        """Keep a kick that failed (Redis down) for the thread to send once Redis answers again."""
        with self._lock:
            self._owed.add(schema_name)
            self._thread_start()

    def _thread_start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(self._wake,), name="payments-kicks", daemon=True)
            self._thread.start()

    def note(self, schema_name: str) -> None:
        """Ask for a kick of `schema_name`'s drain (call after the row committed)."""
        with self._lock:
            if self._pending:
                # Already woken for these notes (a note into an empty set wakes the thread, and the thread
                # clears the wake-up only just before it takes the notes): they go together.
                self._pending.add(schema_name)
                return
            self._pending.add(schema_name)
            self._thread_start()
            self._wake.set()

    def flush(self) -> int:
        """Kick every noted organization now; returns how many were kicked."""
        from django_tenants.utils import schema_context

        from payments import inbox

        with self._lock:
            taken, self._pending = self._pending | self._owed, set()
            self._owed = set()
        lost: set[str] = set()
        for schema_name in sorted(taken):
            try:
                with schema_context(schema_name):
                    inbox.inbox_kick(strict=True)
            except inbox.KickLost:
                lost.add(schema_name)  # Redis or the broker is down: kept, tried again
            except Exception:
                logger.exception("drain kick failed; inbox rows left for the sweep", extra={"schema": schema_name})
        if lost:
            logger.warning("drain kicks kept until Redis answers", extra={"schemas": sorted(lost)})
            with self._lock:
                self._owed |= lost
        return len(taken) - len(lost)

    def _run(self, wake: threading.Event) -> None:
        while True:
            wake.wait(timeout=settings.PAYMENTS_KICK_RETRY_SECONDS if self._owed else None)
            wake.clear()  # before taking the notes: a note made after this sets it again
            try:
                self.flush()
                if connection.connection is not None:  # only an eager drain (tests, dev) opens one here
                    connections.close_all()
            except Exception:  # the thread must outlive any one failure, or later notes wait for the sweep
                logger.exception("drain kick round failed; inbox rows left for the sweep")
                with self._lock:
                    if self._pending:  # notes the failed round did not take: they have no wake-up of their own
                        wake.set()
            time.sleep(settings.PAYMENTS_KICK_COALESCE_MS / 1000)


coalescer = KickCoalescer()


def inbox_kick_soon() -> None:
    """Kick this organization's drain: now, or within PAYMENTS_KICK_COALESCE_MS from the process's
    kick thread (see the module docstring). Call after the inbox row committed."""
    if settings.PAYMENTS_KICK_COALESCE_MS <= 0:
        from payments.inbox import KickLost, inbox_kick

        try:
            inbox_kick(strict=True)
        except KickLost:
            coalescer.owe(connection.schema_name)  # sent by the kick thread once Redis answers
    else:
        coalescer.note(connection.schema_name)

"""Coalesced drain kicks (payments.kicks): one kick per organization per window from a process's own
thread, each noted row followed by a kick that starts after it, a lone callback kicked at once, and a
failing kick or a fork costing no later kick."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time

import pytest
from django.db import connection

from payments.kicks import KickCoalescer


@pytest.fixture
def kicks(monkeypatch):
    """Every inbox_kick the coalescer makes: (monotonic start, schema), instead of touching Redis."""
    import payments.inbox

    made: list[tuple[float, str]] = []
    lock = threading.Lock()

    def spy(**kwargs):
        with lock:
            made.append((time.monotonic(), connection.schema_name))
        return True

    monkeypatch.setattr(payments.inbox, "inbox_kick", spy)
    return made


def _settle(kicks: list, seconds: float = 0.5) -> None:
    """Wait until no kick has come for `seconds` (the thread has drained every note)."""
    deadline = time.monotonic() + 10
    seen = -1
    while time.monotonic() < deadline and seen != len(kicks):
        seen = len(kicks)
        time.sleep(seconds)


def test_a_burst_costs_one_kick_per_organization_per_window(kicks, settings):
    settings.PAYMENTS_KICK_COALESCE_MS = 300
    coalescer = KickCoalescer()

    def burst(schema):
        for _ in range(50):
            coalescer.note(schema)

    threads = [threading.Thread(target=burst, args=(schema,)) for schema in ["org_a"] * 8 + ["org_b"] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _settle(kicks)
    per_schema = {schema: sum(1 for _, s in kicks if s == schema) for schema in ("org_a", "org_b")}
    # 400 and 100 notes inside one window: the leading kick, and at most one more for notes made while it ran
    assert 1 <= per_schema["org_a"] <= 2 and 1 <= per_schema["org_b"] <= 2
    assert {s for _, s in kicks} == {"org_a", "org_b"}


def test_every_note_is_followed_by_a_kick_that_starts_after_it(kicks, settings):
    settings.PAYMENTS_KICK_COALESCE_MS = 20
    coalescer = KickCoalescer()
    notes: list[tuple[float, str]] = []
    lock = threading.Lock()

    def caller(seed: int):
        rng = random.Random(seed)
        for _ in range(60):
            schema = rng.choice(["org_a", "org_b", "org_c"])
            with lock:
                notes.append((time.monotonic(), schema))  # the row has committed by now
            coalescer.note(schema)
            time.sleep(rng.choice([0, 0, 0.001, 0.005, 0.03]))

    threads = [threading.Thread(target=caller, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _settle(kicks)
    last_kick = {}
    for started, schema in kicks:
        last_kick[schema] = max(started, last_kick.get(schema, 0))
    stranded = [(t, s) for t, s in notes if last_kick.get(s, 0) < t]
    assert stranded == []
    assert len(kicks) < len(notes) / 3  # and they were coalesced


def test_a_lone_callback_is_kicked_at_once_not_after_a_window(kicks, settings):
    settings.PAYMENTS_KICK_COALESCE_MS = 5000
    coalescer = KickCoalescer()
    noted = time.monotonic()
    coalescer.note("org_a")
    deadline = time.monotonic() + 2
    while not kicks and time.monotonic() < deadline:
        time.sleep(0.005)
    assert kicks and kicks[0][1] == "org_a" and kicks[0][0] - noted < 1


def test_a_failing_kick_is_logged_and_the_next_note_kicks_again(monkeypatch, settings, caplog):
    import payments.inbox

    settings.PAYMENTS_KICK_COALESCE_MS = 10
    calls: list[str] = []

    def flaky(**kwargs):
        calls.append(connection.schema_name)
        if len(calls) == 1:
            raise RuntimeError("redis went away")
        return True

    monkeypatch.setattr(payments.inbox, "inbox_kick", flaky)
    coalescer = KickCoalescer()
    coalescer.note("org_a")
    _settle(calls, 0.1)
    coalescer.note("org_a")
    _settle(calls, 0.1)
    assert calls == ["org_a", "org_a"]
    assert "drain kick failed" in caplog.text


def test_the_kick_thread_outlives_a_failed_round(kicks, settings, monkeypatch, caplog):
    settings.PAYMENTS_KICK_COALESCE_MS = 10
    coalescer = KickCoalescer()
    real_flush, failures = coalescer.flush, []

    def flaky_flush():
        if not failures:
            failures.append(1)
            raise RuntimeError("the round itself failed")
        return real_flush()

    monkeypatch.setattr(coalescer, "flush", flaky_flush)
    coalescer.note("org_a")  # this round fails before it kicks anything...
    _settle(failures, 0.1)
    coalescer.note("org_b")  # ...and the thread is still there for the next one
    _settle(kicks, 0.1)
    assert failures == [1] and sorted(s for _, s in kicks) == ["org_a", "org_b"]
    assert "drain kick round failed" in caplog.text


def test_flush_kicks_what_is_pending_now(kicks):
    coalescer = KickCoalescer()
    with coalescer._lock:  # notes taken by nobody yet (what atexit flushes on the way out)
        coalescer._pending |= {"org_a", "org_b"}
    assert coalescer.flush() == 2 and sorted(s for _, s in kicks) == ["org_a", "org_b"]
    assert coalescer.flush() == 0


def test_a_forked_child_kicks_from_a_thread_of_its_own(kicks, settings):
    settings.PAYMENTS_KICK_COALESCE_MS = 10
    coalescer = KickCoalescer()
    coalescer.note("org_parent")
    _settle(kicks, 0.1)
    assert [s for _, s in kicks] == ["org_parent"]
    results = multiprocessing.get_context("fork").Queue()

    def child():
        coalescer.note("org_child")  # the parent's kick thread did not survive the fork
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(s == "org_child" for _, s in kicks):
            time.sleep(0.01)
        results.put([s for _, s in kicks])

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    seen = results.get(timeout=10)
    process.join(timeout=10)
    assert seen == ["org_parent", "org_child"]

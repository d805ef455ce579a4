"""Leaderboard benchmark: 100,000 participants in one challenge.

Measures (one run, same machine):
  1. a full rebuild of the Redis board from PostgreSQL;
  2. top-10 + "me" in the app (the selector: one Redis EVALSHA), p50/p99;
  3. the same through Django's full request stack in-process (test client, session auth), p50/p99;
  4. HTTP throughput under uvicorn (1 worker) for GET /api/v1/challenges/{id}/leaderboard against a bare
     Django JSON view (/bench/bare) behind the same middleware, with an aiohttp load generator beside it.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/leaderboard.py [--participants 100000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from datetime import timedelta

from common import ROOT, bench_org, copy_users, percentile  # noqa: E402  (sets up Django)
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def setup(participants: int):
    from challenges.models import Challenge, Participant
    from challenges.services import challenge_create

    org = bench_org("bench-lb")
    challenge = Challenge.objects.filter(name="Bench board").first()
    if challenge is None:
        challenge = challenge_create(actor=None, name="Bench board", type="fixed_amount",
                                     target={"amount": 500, "frequency": "weekly"}, duration_days=90,
                                     start_date=timezone.localdate() - timedelta(days=1), status="active")
    have = Participant.objects.filter(challenge=challenge).count()
    if have < participants:
        print(f"generating {participants - have} participants ...", flush=True)
        ids = copy_users(participants - have, phone_base=10_000_000 + have, code_prefix="B")
        rng = random.Random(7)
        schema = connection.schema_name
        started = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                    f'COPY "{schema}".challenges_participant (challenge_id, user_id, status, progress, '
                    "total_contributed, points, version, streak_reminded_window, joined_at) FROM STDIN") as copy:
                for uid in ids:
                    saved = rng.randint(0, 2000) * 10
                    copy.write_row((challenge.pk, uid, "active", "{}", f"{saved}.00", saved + rng.choice([0, 50]),
                                    1, "", "2026-01-01 00:00+00"))
        Challenge.objects.filter(pk=challenge.pk).update(participants_count=participants)
        print(f"  copied {len(ids)} participants in {time.perf_counter() - started:.2f}s", flush=True)
    return org, challenge


def measure_rebuild(challenge, runs=3):
    from challenges import leaderboard

    times = []
    for _ in range(runs):
        leaderboard.board_forget(challenge.pk)
        started = time.perf_counter()
        count = leaderboard.board_rebuild(challenge.pk)
        times.append(time.perf_counter() - started)
    return count, times


def measure_selector(challenge, user_ids, n=3000):
    from challenges.selectors import leaderboard_read

    class U:
        is_authenticated = True

    samples = []
    for i in range(n):
        u = U()
        u.pk = user_ids[i % len(user_ids)]
        started = time.perf_counter()
        data = leaderboard_read(challenge_id=challenge.pk, user=u, limit=10)
        samples.append((time.perf_counter() - started) * 1000)
        assert len(data["results"]) == 10 and data["me"] is not None
    return samples


def measure_in_process(org, challenge, user, n=1500):
    from django.test import Client

    client = Client(HTTP_HOST=f"{org.slug}.localhost")
    client.force_login(user)
    url = f"/api/v1/challenges/{challenge.pk}/leaderboard"
    client.get(url)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    connection.set_tenant(org)
    return samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(args):
    url, host, cookie, seconds, concurrency = args
    import aiohttp

    async def run():
        done = errors = 0
        deadline = time.perf_counter() + seconds
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, headers={"Host": host, "Cookie": cookie}) as session:
            async def worker():
                nonlocal done, errors
                while time.perf_counter() < deadline:
                    async with session.get(url) as response:
                        await response.read()
                        if response.status == 200:
                            done += 1
                        else:
                            errors += 1
            await asyncio.gather(*[worker() for _ in range(concurrency)])
        return done, errors

    return asyncio.run(run())


def measure_http(org, challenge, user, seconds: float, concurrency: int = 8):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.backends import SESSION_BACKEND

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = SESSION_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    cookie = f"sessionid={session.session_key}"
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench", "BENCH_ASGI_SERVER": "1", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "savegame.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env)
    host = f"{org.slug}.localhost"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        results = {}
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(_load, ((f"{base}/bench/bare", host, cookie, 2, concurrency),))  # warm up
            pool.apply(_load, ((f"{base}/api/v1/challenges/{challenge.pk}/leaderboard", host, cookie, 2, concurrency),))
            for name, path in (("bare", "/bench/bare"), ("leaderboard", f"/api/v1/challenges/{challenge.pk}/leaderboard"),
                               ("bare (again)", "/bench/bare"),
                               ("leaderboard (again)", f"/api/v1/challenges/{challenge.pk}/leaderboard")):
                done, errors = pool.apply(_load, ((base + path, host, cookie, seconds, concurrency),))
                results[name] = (done / seconds, errors)
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--http-only", action="store_true")
    parser.add_argument("--pool", action="store_true", help="serve with Django's psycopg connection pool")
    options = parser.parse_args()
    org, challenge = setup(options.participants)
    from accounts.models import User
    from challenges.models import Participant

    user_ids = list(Participant.objects.filter(challenge=challenge).values_list("user_id", flat=True)
                    .order_by("?")[:2000])
    user = User.objects.get(pk=user_ids[0])
    if not options.http_only:
        count, rebuilds = measure_rebuild(challenge)
        print(f"rebuild of {count} participants: " + ", ".join(f"{t:.2f}s" for t in rebuilds))
        samples = measure_selector(challenge, user_ids)
        print(f"top-10 + me, selector (1 EVALSHA), n={len(samples)}: p50 {percentile(samples, 50):.3f} ms, "
              f"p99 {percentile(samples, 99):.3f} ms")
        samples = measure_in_process(org, challenge, user)
        print(f"top-10 + me, full Django request in-process (session auth, DRF), n={len(samples)}: "
              f"p50 {percentile(samples, 50):.3f} ms, p99 {percentile(samples, 99):.3f} ms")
    if not options.skip_http:
        if options.pool:
            os.environ["BENCH_DB_POOL"] = "1"
        results = measure_http(org, challenge, user, options.seconds)
        for name, (rate, errors) in results.items():
            print(f"HTTP{' (pool)' if options.pool else ''} {name}: {rate:.0f} req/s ({errors} errors)")
        bare = (results["bare"][0] + results["bare (again)"][0]) / 2
        board = (results["leaderboard"][0] + results["leaderboard (again)"][0]) / 2
        print(f"leaderboard / bare = {board / bare:.0%}")


if __name__ == "__main__":
    main()

"""Where a request's time goes: each bench/web.py target, in process, under cProfile.

    .venv/bin/python bench/web_profile.py [--requests 300] [--only challenges,home] [--top 30]

Runs the same targets as bench/web.py against the same `bench-web` organization (made by
`bench/web.py --setup-only`), through Django's full WSGI handler and middleware (the test client,
no sockets), DEBUG=0. Prints, per target, the CPU milliseconds per request, the queries and the
Redis commands per request, and the functions with the most cumulative time. Use it to decide what
to change; the throughput and percentiles that count come from bench/web.py.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.web_env import BENCH_ENV  # noqa: E402

os.environ.update(BENCH_ENV)
from bench import web  # noqa: E402  (sets Django up)


def redis_counter():
    """Count Redis commands sent by this process (pipelines count once per round trip)."""
    from redis.client import Pipeline, Redis

    counts = {"n": 0}
    plain, piped = Redis.execute_command, Pipeline.execute

    def execute_command(self, *args, **kwargs):
        counts["n"] += 1
        return plain(self, *args, **kwargs)

    def execute(self, *args, **kwargs):
        counts["n"] += 1
        return piped(self, *args, **kwargs)

    Redis.execute_command, Pipeline.execute = execute_command, execute
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--only", default="")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", type=int, default=0, help="print each query's time and its first N characters")
    args = parser.parse_args()

    from django.conf import settings
    from django.db import connection, connections
    from django.test import Client

    data = web.setup(2000, 10)
    host = f"{data['org'].slug}.{settings.BASE_DOMAIN}"
    members = data["members"]
    challenge = data["challenge"]
    targets = [
        ("middleware", "/bench/bare", "none"),
        ("challenges", "/api/v1/challenges", "bearer"),
        ("leaderboard", f"/api/v1/challenges/{challenge.pk}/leaderboard", "bearer"),
        ("progress", "/api/v1/members/{id}/progress", "bearer"),
        ("achievements", "/api/v1/members/{id}/achievements", "bearer"),
        ("transactions", "/api/v1/transactions", "bearer"),
        ("home", "/", "session"),
        ("manage", "/manage/", "admin"),
    ]
    only = set(filter(None, args.only.split(",")))
    connection.close()
    redis_calls = redis_counter()
    for name, pattern, auth in targets:
        if only and name not in only:
            continue
        client = Client(HTTP_HOST=host)

        def one(i: int) -> int:
            member = members[i % len(members)]
            headers = {}
            if auth == "bearer":
                headers["HTTP_AUTHORIZATION"] = f"Bearer {member['token']}"
            elif auth == "session":
                client.cookies["sessionid"] = member["session"]
            elif auth == "admin":
                client.cookies["sessionid"] = data["admin_session"]
            response = client.get(pattern.replace("{id}", str(member["id"])), **headers)
            assert response.status_code == 200, (name, response.status_code, response.content[:300])
            return response.status_code

        for i in range(30):  # warm caches, connections, imports
            one(i)
        queries = []

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append(((time.perf_counter() - started) * 1000, sql))

        before = redis_calls["n"]
        with connections["default"].execute_wrapper(timed):
            one(31)
        redis_n = redis_calls["n"] - before
        profile = cProfile.Profile()
        started = time.process_time()
        profile.enable()
        for i in range(args.requests):
            one(i)
        profile.disable()
        cpu_ms = (time.process_time() - started) * 1000 / args.requests
        print(f"\n=== {name} {pattern}: {cpu_ms:.2f} ms CPU/request (under cProfile), "
              f"{len(queries)} queries, {redis_n} Redis round trips")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
        if args.sql:
            for ms, sql in queries:
                print(f"  {ms:7.2f} ms  {sql[:args.sql]}")


if __name__ == "__main__":
    main()

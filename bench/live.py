"""Live hub benchmark: N concurrent streams on one process, our hub against the bare design, same run.

    .venv/bin/python bench/live.py --streams 2000 5000 10000 --clients 2

For each design and N: the server's RSS per stream, how long one leaderboard change takes to reach
every stream (p50 / p99 / max over all streams, 5 changes 2.5 s apart), Redis connections of the
server process and PostgreSQL backends on the database, as streams grow. Uses REDIS_URL's database
(schema-like prefix `sg:bench_live:`), never flushes it; servers and clients bind 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from challenges import leaderboard  # noqa: E402
from savegame.redis import redis_client  # noqa: E402

SCHEMA, BOARD = "bench_live", 1
CHANGES, GAP = 5, 2.5


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed_board() -> None:
    client = redis_client()
    pipe = client.pipeline()
    for i in range(1, 21):
        member = leaderboard.member_encode(total_saved=100 * i, participant_id=i, user_id=i)
        pipe.zadd(leaderboard.board_key(BOARD, schema=SCHEMA), {member: 10 * i})
        pipe.hset(leaderboard.members_key(BOARD, schema=SCHEMA), i, f"1|{member}")
        pipe.hset(leaderboard.names_key(schema=SCHEMA), i, f"Saver {i}")
    pipe.set(leaderboard.ready_key(BOARD, schema=SCHEMA), "1")
    pipe.execute()


def redis_connections_of(port: int) -> int:
    """Redis clients whose peer is the server process (matched by its local ports via /proc)."""
    return sum(1 for c in redis_client().client_list() if c.get("db") == str(redis_client().connection_pool
                                                                                .connection_kwargs.get("db", 0))
               and c.get("name") == "") - 1  # minus the driver's own


def pg_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def run(design: str, streams: int, clients: int) -> dict:
    port = free_port()
    env = {**os.environ, "LIVE_STREAMS_PER_USER": "1000000", "LIVE_MAX_STREAMS": str(streams + 1000)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"bench.live_apps:{design}", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--backlog", "4096", "--no-access-log", "--timeout-graceful-shutdown", "2",
         "--lifespan", "on" if design == "hub" else "off"], cwd=ROOT, env=env)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        redis_before, pg_before, rss_before = redis_connections_of(port), pg_backends(), rss_mb(server.pid)
        share = streams // clients
        procs = [subprocess.Popen([sys.executable, str(ROOT / "bench/live_client.py"), f"http://127.0.0.1:{port}",
                                   str(1 + i * share), str(share)], stdout=subprocess.PIPE, text=True)
                 for i in range(clients)]
        opened = failed = 0
        started = time.monotonic()
        for proc in procs:
            _, n_ok, n_bad = proc.stdout.readline().split()
            opened, failed = opened + int(n_ok), failed + int(n_bad)
        open_seconds = time.monotonic() - started
        time.sleep(2)
        rss_after = rss_mb(server.pid)
        redis_during, pg_during = redis_connections_of(port), pg_backends()
        published = {}
        client = redis_client()
        for _ in range(CHANGES):
            version = client.incr(leaderboard.version_key(BOARD, schema=SCHEMA))
            client.zincrby(leaderboard.board_key(BOARD, schema=SCHEMA), 1, leaderboard.member_encode(
                total_saved=100, participant_id=1, user_id=1))
            published[str(version)] = time.time()
            client.publish(leaderboard.channel(BOARD, schema=SCHEMA), str(version))
            time.sleep(GAP)
        arrivals: dict[str, list[float]] = {}
        for proc in procs:
            proc.terminate()
        for proc in procs:
            line = proc.stdout.readline()
            for key, times in json.loads(line or "{}").items():
                arrivals.setdefault(key, []).extend(times)
            proc.wait(timeout=30)
        lat, reached = [], []
        for version, at in published.items():
            got = arrivals.get(version, [])
            reached.append(len(got) / max(opened, 1))
            lat += [t - at for t in got]
        return {"design": design, "streams": streams, "opened": opened, "failed": failed,
                "open_s": round(open_seconds, 1), "rss_mb": round(rss_after, 1),
                "kb_per_stream": round((rss_after - rss_before) * 1024 / max(opened, 1), 1),
                "p50_ms": round(percentile(lat, 50) * 1000), "p99_ms": round(percentile(lat, 99) * 1000),
                "max_ms": round(max(lat) * 1000) if lat else None, "reached": round(min(reached), 4),
                "redis_conns": f"{redis_before}->{redis_during}", "pg_backends": f"{pg_before}->{pg_during}"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--designs", nargs="+", default=["bare", "hub"])
    args = parser.parse_args()
    seed_board()
    print("load before:", os.getloadavg(), flush=True)
    for streams in args.streams:
        for design in args.designs:
            print(json.dumps(run(design, streams, args.clients)), flush=True)
    print("load after:", os.getloadavg(), flush=True)
    _ = settings


if __name__ == "__main__":
    main()

"""Live hub benchmark: N concurrent streams on one process, our hub against the bare design, same run.

    .venv/bin/python bench/live.py --streams 1000 5000 10000 --clients 2

For each design and N: the server's RSS per stream, how long one leaderboard change takes to reach
every stream (p50 / p99 / max over all streams, 5 changes 2.5 s apart), Redis connections of the
server process and PostgreSQL backends on the database, as streams grow. Meanwhile (unless --no-web)
a probe calls the web tier as the Procfile runs it (gunicorn gthread, 2 x 4, CONN_MAX_AGE=60) in a
loop: `/healthz`, a Daraja C2B confirmation and `GET /api/v1/challenges` as a signed-in member (the
bench org `bench-pay` of bench/callbacks.py), and reports each one's p99. Uses REDIS_URL's database
(schema-like prefix `sg:bench_live:`), never flushes it; servers and clients bind 127.0.0.1 only.
Bounded: about 40 s per design and N.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
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


def tcp_connections_of(pid: int, remote_port: int) -> int:
    """Established TCP connections of process `pid` to `remote_port` (its sockets matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == remote_port and fields[9] in inodes:
                count += 1
    return count


def redis_connections_of(pid: int) -> int:
    return tcp_connections_of(pid, int(settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0]))


def pg_connections_of(pid: int) -> int:
    return tcp_connections_of(pid, int(connection.settings_dict["PORT"] or 5432))


def pg_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


class WebProbe:
    """Calls the web tier in a loop from a thread while the changes go out; latencies per call kind."""

    def __init__(self, port: int, host: str, token: str, codes: list[str], session_key: str):
        import requests

        self.http = requests.Session()
        self.port, self.host, self.token, self.codes = port, host, token, codes
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key}
        self.samples: dict[str, list[float]] = {"healthz": [], "confirmation": [], "api": []}
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.n = 0

    def _call(self, kind: str) -> None:
        base, headers = f"http://127.0.0.1:{self.port}", {"Host": self.host}
        started = time.perf_counter()
        if kind == "healthz":
            response = self.http.get(base + "/healthz", headers=headers, timeout=10)
        elif kind == "confirmation":
            self.n += 1
            body = {"TransactionType": "Pay Bill", "TransID": f"LV{int(time.time()) % 100000:05d}{self.n:05d}",
                    "TransTime": time.strftime("%Y%m%d%H%M%S"), "TransAmount": "100.00",
                    "BusinessShortCode": "600555", "BillRefNumber": self.codes[self.n % len(self.codes)],
                    "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "", "MSISDN": "0" * 64,
                    "FirstName": "Bench", "MiddleName": "", "LastName": ""}
            response = self.http.post(f"{base}/hooks/pay/{self.token}/c2b/confirmation", json=body, headers=headers,
                                      timeout=10)
        else:
            response = self.http.get(base + "/api/v1/challenges", headers=headers, cookies=self.cookies, timeout=10)
        self.samples[kind].append(time.perf_counter() - started)
        if response.status_code != 200:
            self.failures.append(f"{kind} {response.status_code}")

    def loop(self) -> None:
        while not self.stop.is_set():
            for kind in self.samples:
                self._call(kind)
            time.sleep(0.02)

    def report(self) -> dict:
        out = {f"{kind}_p99_ms": round(percentile(values, 99) * 1000, 1) for kind, values in self.samples.items()}
        out["web_calls"] = sum(len(values) for values in self.samples.values())
        out["web_failures"] = len(self.failures)
        if self.failures:
            out["web_failure_kinds"] = sorted(set(self.failures))
        return out


def web_start():
    """The bench org (bench/callbacks.py's), a member's session and gunicorn as the Procfile runs it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_tenants.utils import schema_context

    from accounts.backends import SESSION_BACKEND
    from accounts.models import User
    from bench.callbacks import BENCH_ENV, setup_org, start_gunicorn

    org, codes, token = setup_org()
    with schema_context(org.schema_name):
        user = User.objects.filter(role="member").order_by("pk").first()
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = SESSION_BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    connection.set_schema_to_public()
    port = free_port()
    server = start_gunicorn(port, "savegame.settings", 2, 4, {"CONN_MAX_AGE": "60", "MPESA_ALLOWED_IPS": "127.0.0.1",
                                                              "API_RATE_PER_IP": "1000000/min",
                                                              "API_RATE_PER_ORG": "1000000/min", **BENCH_ENV})
    return server, (port, f"{org.slug}.{settings.BASE_DOMAIN}", token, codes, session.session_key)


def run(design: str, streams: int, clients: int, web=None) -> dict:
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
        redis_before, pg_before, rss_before = redis_connections_of(server.pid), pg_connections_of(server.pid), rss_mb(server.pid)
        db_before = pg_backends()
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
        redis_during, pg_during, db_during = redis_connections_of(server.pid), pg_connections_of(server.pid), pg_backends()
        published = {}
        client = redis_client()
        probe = WebProbe(*web) if web else None
        if probe:
            prober = threading.Thread(target=probe.loop, daemon=True)
            prober.start()
        for _ in range(CHANGES):
            version = client.incr(leaderboard.version_key(BOARD, schema=SCHEMA))
            client.zincrby(leaderboard.board_key(BOARD, schema=SCHEMA), 1, leaderboard.member_encode(
                total_saved=100, participant_id=1, user_id=1))
            published[str(version)] = time.time()
            client.publish(leaderboard.channel(BOARD, schema=SCHEMA), str(version))
            time.sleep(GAP)
        if probe:
            probe.stop.set()
            prober.join(timeout=30)
        redis_after, pg_after, db_after = redis_connections_of(server.pid), pg_connections_of(server.pid), pg_backends()
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
                "redis_conns": f"{redis_before}->{redis_during}->{redis_after}",
                "pg_conns": f"{pg_before}->{pg_during}->{pg_after}",
                "db_backends": f"{db_before}->{db_during}->{db_after}",
                "load": round(os.getloadavg()[0], 1), **(probe.report() if probe else {})}
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
    parser.add_argument("--no-web", action="store_true", help="no web-tier probe during the changes")
    args = parser.parse_args()
    seed_board()
    web_server, web = (None, None) if args.no_web else web_start()
    try:
        print("load before:", os.getloadavg(), flush=True)
        for streams in args.streams:
            for design in args.designs:
                print(json.dumps(run(design, streams, args.clients, web)), flush=True)
        print("load after:", os.getloadavg(), flush=True)
    finally:
        if web_server is not None:
            from bench.callbacks import stop

            stop(web_server)


if __name__ == "__main__":
    main()

"""Benchmark: C2B confirmation ingestion over HTTP on loopback (gunicorn, real PostgreSQL), 10% duplicates.

    .venv/bin/python bench/callbacks.py [--callbacks 3000] [--concurrency 16] [--gunicorn-workers 2]
                                        [--db-connections persistent|per-request] [--worker-after]
                                        [--kick-coalesce-ms N] [--no-prepare]

1. baseline: gunicorn serving bench/callbacks_baseline.py (one INSERT ... ON CONFLICT, nothing else);
2. real: gunicorn serving the app: tenant routing by Host, the allow-list (or rate limits), path-token
   check + inbox insert (a prepared statement), drain kick (coalesced per process), while a Celery
   worker (payments queue) drains the inbox (crediting) and hands each batch to gamification
   (scoring); then we wait until every deposit is scored (challenges.ScoredDeposit).
Both get the same shuffled requests (N unique TransIDs + 10% replays) from the same load generator and
the same database connection settings (--db-connections). With --no-allow-list every callback goes
through the hooks' limiter (it counts only refusals, and the bench sends none). Prints one JSON document with throughput,
latency percentiles, callback-to-scored times, the burst drain time and the exactly-once checks, plus
the load average before and after. Uses DATABASE_URL / REDIS_URL (a bench organization `bench-pay`,
with 200 members in one running challenge, is created once).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

SLUG = "bench-pay"
MEMBERS = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def setup_org():
    from accounts.models import User
    from accounts.services import user_create
    from payments.models import MpesaSettings
    from tenants.models import Organization
    from tenants.services import organization_create

    connection.set_schema_to_public()
    org = Organization.objects.filter(slug=SLUG).first() or organization_create(
        slug=SLUG, name="Bench Payments", type="chama", admin_phone="+254799000001", shortcode="600555")
    with schema_context(org.schema_name):
        have = User.objects.filter(role="member").count()
        for n in range(have, MEMBERS):
            user_create(phone_number=f"+2547980{n:05d}", name=f"Bench {n}")
        codes = list(User.objects.filter(role="member").values_list("account_code", flat=True))
        token = MpesaSettings.objects.get().callback_token
        challenge_ensure()
    return org, codes, token


def challenge_ensure():
    """One running weekly challenge every member joined, so each deposit is really scored
    (progress, points, the live leaderboard, the confirmation message)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from challenges.models import Challenge, Participant
    from challenges.services import challenge_create, participant_join

    challenge = Challenge.objects.filter(name="Bench month-end", status="active").first()
    if challenge is None:
        challenge = challenge_create(actor=None, name="Bench month-end", type="fixed_amount",
                                     target={"amount": 500, "frequency": "weekly"}, duration_days=365,
                                     start_date=timezone.localdate() - timedelta(days=30), status="active")
    joined = set(Participant.objects.filter(challenge=challenge).values_list("user_id", flat=True))
    for user in User.objects.filter(role="member").exclude(pk__in=joined):
        participant_join(challenge=challenge, user=user)


def reset_org(org):
    with schema_context(org.schema_name), connection.cursor() as cursor:
        # bench-only org: the append-only trigger is lifted for the truncate, nowhere else
        cursor.execute("TRUNCATE challenges_scoreddeposit, payments_transactionstatuschange, payments_callbackinbox,"
                       " payments_statusquery, payments_transaction RESTART IDENTITY CASCADE")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS public.bench_callback_baseline (id bigserial PRIMARY KEY,"
                       " trans_id varchar(40) UNIQUE NOT NULL, payload jsonb NOT NULL, received_at timestamptz DEFAULT now())")
        cursor.execute("TRUNCATE public.bench_callback_baseline")


def make_requests(n: int, codes: list[str], seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        bodies.append({
            "TransactionType": "Pay Bill", "TransID": f"BN{i:08d}", "TransTime": "20261130235900",
            "TransAmount": f"{rng.choice([100, 200, 500, 1000, 2500])}.00", "BusinessShortCode": "600555",
            "BillRefNumber": rng.choice(codes), "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": "%064x" % rng.getrandbits(256), "FirstName": "Bench", "MiddleName": "", "LastName": ""})
    requests = bodies + [rng.choice(bodies) for _ in range(n // 10)]  # 10% replays
    rng.shuffle(requests)
    return requests


# Every bench request comes from 127.0.0.1. The hooks' limits count only refused callbacks (the bench
# sends none); they are lifted anyway, so a stray refusal cannot turn the rest of a run into 429s.
BENCH_ENV = {"LOG_LEVEL": "WARNING", "HOOK_RATE_PER_IP": "1000000/min", "HOOK_RATE_PER_ORG": "1000000/min"}


def db_env(mode: str) -> dict:
    """The same database connection settings for the baseline and the real path."""
    # gunicorn's gthread workers keep their threads, so a persistent connection per thread is safe
    # there (not under uvicorn: see DEPLOYMENT.md). per-request = the settings' default, CONN_MAX_AGE=0.
    return {"CONN_MAX_AGE": "60" if mode == "persistent" else "0"}


def start_gunicorn(port: int, settings_module: str, workers: int, threads: int, extra_env: dict) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, **BENCH_ENV, **extra_env}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "savegame.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "-k", "gthread", "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:])


def stop(process: subprocess.Popen) -> None:
    """Stop a process group this script started (and only that)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cpu_seconds(*, pgid: int | None = None, database: str | None = None) -> float:
    """CPU time (user + system) of the live processes in process group `pgid` (a server we started),
    or of the PostgreSQL backends connected to `database`. On a shared machine this is steadier than
    throughput: it does not count the time a process waited for a core."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if pgid is not None and int(fields[2]) != pgid:
                continue
            if database is not None:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if not cmdline.startswith("postgres:") or f" {database} " not in cmdline:
                    continue
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / tick


def load(port: int, host: str, path: str, requests: list[dict], concurrency: int, server_pgid: int | None = None) -> dict:
    """Send every request once over keep-alive connections from `concurrency` threads."""
    work: queue.Queue = queue.Queue()
    for body in requests:
        work.put(json.dumps(body).encode())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], {}
        while True:
            try:
                data = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=data, headers={"Host": host, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            mine.append((time.perf_counter() - started) * 1000)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    database = connection.settings_dict["NAME"]
    server_cpu, db_cpu, client_cpu = cpu_seconds(pgid=server_pgid) if server_pgid else 0, cpu_seconds(database=database), time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    per_request_ms = 1000 / len(requests)
    cpu = {"server_cpu_ms_per_request": round((cpu_seconds(pgid=server_pgid) - server_cpu) * per_request_ms, 3)
           if server_pgid else None,
           "postgres_cpu_ms_per_request": round((cpu_seconds(database=database) - db_cpu) * per_request_ms, 3),
           "load_generator_cpu_ms_per_request": round((time.process_time() - client_cpu) * per_request_ms, 3)}
    return {**cpu, "requests": len(requests), "seconds": round(elapsed, 3), "per_second": round(len(requests) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2), "statuses": statuses}


def start_worker(concurrency: int, pool: str, log: str | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "savegame", "worker", "-Q", "payments", "-P", pool,
         "-c", str(concurrency), "--loglevel", "warning", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, **BENCH_ENV}, stdout=out, stderr=out, start_new_session=True)


def outcome(org, unique: int, sent_at: float, answered_at: float, timeout: float) -> dict:
    """Wait until every unique deposit is scored (or the timeout), then check exactly-once."""
    from challenges.models import ScoredDeposit
    from payments.models import CallbackInbox, Transaction

    with schema_context(org.schema_name):
        bn_tx = Transaction.objects.filter(transaction_id__startswith="BN")
        bn_scored = ScoredDeposit.objects.filter(transaction__transaction_id__startswith="BN")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and bn_scored.count() < unique:
            time.sleep(0.25)
        with connection.cursor() as cursor:
            cursor.execute("SELECT extract(epoch FROM s.scored_at - i.received_at) FROM challenges_scoreddeposit s"
                           " JOIN payments_callbackinbox i ON i.transaction_id = s.transaction_id"
                           " WHERE i.kind = 'confirmation' AND i.natural_key LIKE 'BN%%'")
            to_scored = [float(r[0]) * 1000 for r in cursor.fetchall()]
            cursor.execute("SELECT extract(epoch FROM min(received_at)) FROM payments_callbackinbox"
                           " WHERE natural_key LIKE 'BN%%'")
            first_received = float(cursor.fetchone()[0] or 0)
            cursor.execute("SELECT extract(epoch FROM max(s.scored_at)) FROM challenges_scoreddeposit s"
                           " JOIN payments_transaction t ON t.id = s.transaction_id WHERE t.transaction_id LIKE 'BN%%'")
            last_scored = float(cursor.fetchone()[0] or 0)
            cursor.execute("SELECT extract(epoch FROM max(t.created_at)) FROM payments_transaction t"
                           " WHERE t.transaction_id LIKE 'BN%%'")
            last_credited = float(cursor.fetchone()[0] or 0)
        stored = CallbackInbox.objects.filter(natural_key__startswith="BN").count()
        return {
            "inbox_rows": stored,
            "transactions": bn_tx.count(),
            "verified": bn_tx.filter(status="verified").count(),
            "scored": bn_scored.count(),
            "double_credited": bn_tx.count() - len(set(bn_tx.values_list("transaction_id", flat=True))),
            "lost": unique - stored,
            "not_scored_at_timeout": unique - bn_scored.count(),
            "callback_to_scored_p50_ms": round(percentile(to_scored, 50), 1),
            "callback_to_scored_p99_ms": round(percentile(to_scored, 99), 1),
            "burst_first_callback_to_last_credited_s": round(last_credited - first_received, 2),
            "burst_first_callback_to_last_scored_s": round(last_scored - first_received, 2),
            "last_callback_answered_to_last_scored_s": round(last_scored - answered_at, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=3000, help="unique TransIDs (10%% more are replays)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--db-connections", choices=["persistent", "per-request"], default="persistent")
    # One process for the kicked drain plus one per helper (PAYMENTS_DRAIN_HELPERS, default 1).
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--celery-pool", default="prefork", choices=["threads", "prefork", "solo"])
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--worker-after", action="store_true",
                        help="start the Celery worker only after the last callback (ingestion measured alone)")
    parser.add_argument("--allow-list", action=argparse.BooleanOptionalAction, default=True,
                        help="run the real path as production should: MPESA_ALLOWED_IPS set (here 127.0.0.1), so "
                             "Daraja's own addresses skip the hooks' limiter (--no-allow-list: every callback "
                             "goes through it)")
    parser.add_argument("--kick-coalesce-ms", type=int,
                        help="PAYMENTS_KICK_COALESCE_MS for the real path (default: the settings' own; 0 = kick "
                             "inline, one Redis round trip per callback)")
    parser.add_argument("--prepare", action=argparse.BooleanOptionalAction, default=True,
                        help="--no-prepare: DB_PREPARE_THRESHOLD=off, the inbox insert planned on every callback")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--worker-log", help="append the Celery worker's output (warnings and errors) to this file")
    args = parser.parse_args()

    org, codes, token = setup_org()
    reset_org(org)
    requests = make_requests(args.callbacks, codes)
    unique = len({r["TransID"] for r in requests})
    result = {"celery": f"{args.celery_concurrency} x {args.celery_pool}"
                        + (", started after the last callback" if args.worker_after else ""),
              "callbacks_unique": unique, "requests": len(requests), "concurrency": args.concurrency,
              "gunicorn": f"{args.gunicorn_workers} workers x {args.gunicorn_threads} threads (gthread)",
              "db_connections": args.db_connections, "allow_list": args.allow_list, "cpus": os.cpu_count(),
              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    extra_env = db_env(args.db_connections)

    if not args.skip_baseline:
        port = free_port()
        server = start_gunicorn(port, "bench.callbacks_baseline", args.gunicorn_workers, args.gunicorn_threads,
                                extra_env)
        try:
            load(port, "localhost", "/baseline", requests[:200], args.concurrency)  # warm-up (rows are replays later)
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE public.bench_callback_baseline")
            result["baseline"] = load(port, "localhost", "/baseline", requests, args.concurrency, server.pid)
        finally:
            stop(server)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM public.bench_callback_baseline")
            result["baseline"]["rows"] = cursor.fetchone()[0]

    # the real path, with a Celery worker draining (crediting + scoring) while callbacks arrive
    worker = None if args.worker_after else start_worker(args.celery_concurrency, args.celery_pool, args.worker_log)
    port = free_port()
    real_env = {**extra_env, **({"MPESA_ALLOWED_IPS": "127.0.0.1"} if args.allow_list else {})}
    if args.kick_coalesce_ms is not None:
        real_env["PAYMENTS_KICK_COALESCE_MS"] = str(args.kick_coalesce_ms)
    if not args.prepare:
        real_env["DB_PREPARE_THRESHOLD"] = "off"
    result["kick_coalesce_ms"] = int(real_env.get("PAYMENTS_KICK_COALESCE_MS", settings.PAYMENTS_KICK_COALESCE_MS))
    result["inbox_insert_prepared"] = args.prepare
    server = start_gunicorn(port, "savegame.settings", args.gunicorn_workers, args.gunicorn_threads, real_env)
    host = f"{SLUG}.localhost"
    path = f"/hooks/pay/{token}/c2b/confirmation"
    try:
        warm = make_requests(50, codes, seed=99)
        for body in warm:
            body["TransID"] = "W" + body["TransID"]
        load(port, host, path, warm, 4)  # warm-up rows have W-prefixed TransIDs; counts below are BN-only
        time.sleep(2)
        sent_at = time.time()
        result["real"] = load(port, host, path, requests, args.concurrency, server.pid)
        answered_at = time.time()
        if args.worker_after:
            worker = start_worker(args.celery_concurrency, args.celery_pool, args.worker_log)
        result["real"].update(outcome(org, unique, sent_at, answered_at, args.drain_timeout))
    finally:
        stop(server)
        if worker is not None:
            stop(worker)
    if "baseline" in result:
        result["real_vs_baseline_throughput"] = round(result["real"]["per_second"] / result["baseline"]["per_second"], 3)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: C2B confirmation ingestion over HTTP on loopback (gunicorn, real PostgreSQL), 10% duplicates.

    .venv/bin/python bench/callbacks.py [--callbacks 3000] [--concurrency 16] [--gunicorn-workers 2]

1. baseline: gunicorn serving bench/callbacks_baseline.py (one INSERT ... ON CONFLICT, nothing else);
2. real: gunicorn serving the app: tenant routing by Host, path-token check, inbox insert, Celery enqueue,
   while a Celery worker (payments queue) credits and scores; then we wait for every deposit to be scored.
Both get the same shuffled requests (N unique TransIDs + 10% replays) from the same load generator.
Prints one JSON document with throughput, latency percentiles, callback-to-scored times and the
exactly-once checks. Uses DATABASE_URL / REDIS_URL (a bench organization `bench-pay` is created once).
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
import statistics
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
    return org, codes, token


def reset_org(org):
    with schema_context(org.schema_name), connection.cursor() as cursor:
        # bench-only org: the append-only trigger is lifted for the truncate, nowhere else
        cursor.execute("TRUNCATE payments_depositscore, payments_transactionstatuschange, payments_callbackinbox,"
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


def start_gunicorn(port: int, settings_module: str, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "LOG_LEVEL": "WARNING"}
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


def load(port: int, host: str, path: str, requests: list[dict], concurrency: int) -> dict:
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
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"requests": len(requests), "seconds": round(elapsed, 3), "per_second": round(len(requests) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=3000, help="unique TransIDs (10%% more are replays)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--worker-after", action="store_true",
                        help="start the Celery worker only after the last callback (ingestion measured alone)")
    args = parser.parse_args()

    org, codes, token = setup_org()
    reset_org(org)
    requests = make_requests(args.callbacks, codes)
    unique = len({r["TransID"] for r in requests})
    result = {"celery": f"{args.celery_concurrency} threads" + (", started after the last callback" if args.worker_after else ""),
              "callbacks_unique": unique, "requests": len(requests), "concurrency": args.concurrency,
              "gunicorn": f"{args.gunicorn_workers} workers x {args.gunicorn_threads} threads (gthread)",
              "cpus": os.cpu_count()}

    port = free_port()
    server = start_gunicorn(port, "bench.callbacks_baseline", args.gunicorn_workers, args.gunicorn_threads)
    try:
        load(port, "localhost", "/baseline", requests[:200], args.concurrency)  # warm-up (rows are replays later)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE public.bench_callback_baseline")
        result["baseline"] = load(port, "localhost", "/baseline", requests, args.concurrency)
    finally:
        stop(server)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.bench_callback_baseline")
        result["baseline"]["rows"] = cursor.fetchone()[0]

    # the real path, with a Celery worker crediting and scoring while callbacks arrive
    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "savegame", "worker", "-Q", "payments", "-P", "threads",
         "-c", str(args.celery_concurrency), "--loglevel", "warning", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)

    worker = start_worker()
    port = free_port()
    server = start_gunicorn(port, "savegame.settings", args.gunicorn_workers, args.gunicorn_threads)
    host = f"{SLUG}.localhost"
    path = f"/hooks/pay/{token}/c2b/confirmation"
    try:
        warm = make_requests(50, codes, seed=99)
        for body in warm:
            body["TransID"] = "W" + body["TransID"]
        load(port, host, path, warm, 4)  # warm-up rows have W-prefixed TransIDs; counts below are BN-only
        time.sleep(2)
        if args.worker_after:
            stop(worker)
        sent_at = time.time()
        result["real"] = load(port, host, path, requests, args.concurrency)
        if args.worker_after:
            worker = start_worker()
        drain_started = time.perf_counter()
        with schema_context(org.schema_name):
            from payments.models import CallbackInbox, DepositScore, Transaction

            deadline = time.monotonic() + args.drain_timeout
            bn_scores = DepositScore.objects.filter(transaction__transaction_id__startswith="BN")
            bn_tx = Transaction.objects.filter(transaction_id__startswith="BN")
            while time.monotonic() < deadline and bn_scores.count() < unique:
                time.sleep(0.25)
            drained = time.perf_counter() - drain_started
            with connection.cursor() as cursor:
                cursor.execute("SELECT extract(epoch FROM s.scored_at - i.received_at) FROM payments_depositscore s"
                               " JOIN payments_callbackinbox i ON i.transaction_id = s.transaction_id"
                               " WHERE i.kind = 'confirmation' AND i.natural_key LIKE 'BN%%'")
                to_scored = [float(r[0]) * 1000 for r in cursor.fetchall()]
                cursor.execute("SELECT extract(epoch FROM max(s.scored_at)) FROM payments_depositscore s"
                               " JOIN payments_transaction t ON t.id = s.transaction_id WHERE t.transaction_id LIKE 'BN%%'")
                last_scored = float(cursor.fetchone()[0] or 0)
            result["real"].update({
                "inbox_rows": CallbackInbox.objects.filter(natural_key__startswith="BN").count(),
                "transactions": bn_tx.count(),
                "verified": bn_tx.filter(status="verified").count(),
                "scored": bn_scores.count(),
                "double_credited": bn_tx.count() - len(set(bn_tx.values_list("transaction_id", flat=True))),
                "lost": unique - CallbackInbox.objects.filter(natural_key__startswith="BN").count(),
                "not_credited_at_timeout": unique - bn_tx.count(),
                "callback_to_scored_p50_ms": round(percentile(to_scored, 50), 1),
                "callback_to_scored_p99_ms": round(percentile(to_scored, 99), 1),
                "burst_first_callback_to_last_scored_s": round(last_scored - sent_at, 2),
                "drain_after_last_callback_s": round(drained, 2),
            })
    finally:
        stop(server)
        stop(worker)
    result["real_vs_baseline_throughput"] = round(result["real"]["per_second"] / result["baseline"]["per_second"], 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

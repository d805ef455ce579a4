"""Benchmark: the USSD callback's latency (p50/p95/p99) over HTTP on loopback, against a baseline.

    .venv/bin/python bench/ussd.py [--sessions 400] [--concurrency 8] [--gunicorn-workers 2] [--threads 4]

1. baseline: the same gunicorn serving bench/ussd_baseline.py (reads the form, answers a fixed
   `CON` screen: no middleware, no routing, no Redis, no queries);
2. real: the app, exactly as Africa's Talking calls it: `POST /hooks/ussd/` on the platform host,
   routed by service code, member by phone, session state in Redis, the screens' selectors
   (ledger total, points, live ranks, joinable challenges, last deposits), the session row upsert.
Both get the same requests: whole sessions of 1-4 steps (main menu, savings, rank, join list and
back, save amount and challenge list and back, last deposits, language menu and back), each
session from its own member, from `--concurrency` keep-alive client threads. Every step is timed
separately (a step is what Africa's Talking waits for). Prints one JSON document with the
percentiles, their ratio to the baseline, the CPU time per step of the server processes and of the
PostgreSQL backends (steadier than latency when other work shares the cores), and the load average
before and after (other engineers share the machine). Uses DATABASE_URL / REDIS_URL; creates the org `bench-ussd` (200 members,
each in one running challenge with a deposit) once. The per-phone limit is lifted (every session
replays the same 200 phones); nothing is saved or joined, so runs repeat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.callbacks import (  # noqa: E402  (importing it runs django.setup())
    cpu_seconds,
    db_env,
    free_port,
    percentile,
    start_gunicorn,
    stop,
)

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

SLUG = "bench-ussd"
CODE = "*384*9999#"
MEMBERS = 200
PATHS = [[], ["1"], ["2"], ["3", "0"], ["4", "500", "0"], ["5", "1"], ["5", "2", "0"]]
ENV = {"USSD_RATE_PER_PHONE": "1000000/min", "HOOK_RATE_PER_IP": "1000000/min", "HOOK_RATE_PER_ORG": "1000000/min"}


def setup_org() -> list[str]:
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_create
    from challenges.models import Challenge, Participant
    from challenges.services import challenge_create, deposit_score, participant_join
    from payments.models import Transaction
    from tenants.models import Organization
    from tenants.services import organization_create

    connection.set_schema_to_public()
    org = Organization.objects.filter(slug=SLUG).first() or organization_create(
        slug=SLUG, name="Bench USSD", type="sacco", admin_phone="+254799000002", shortcode="600556", ussd_code=CODE)
    with schema_context(org.schema_name):
        have = User.objects.filter(role="member").count()
        for n in range(have, MEMBERS):
            user_create(phone_number=f"+2547981{n:05d}", name=f"Bench {n}")
        challenge = Challenge.objects.filter(name="Bench USSD month", status="active").first()
        if challenge is None:
            challenge = challenge_create(actor=None, name="Bench USSD month", type="fixed_amount",
                                         target={"amount": 500, "frequency": "weekly"}, duration_days=365,
                                         start_date=timezone.localdate() - timedelta(days=30), status="active")
            challenge_create(actor=None, name="Bench USSD open", type="fixed_amount",
                             target={"amount": 100, "frequency": "weekly"}, duration_days=365,
                             start_date=timezone.localdate() - timedelta(days=1), status="active")
        joined = set(Participant.objects.filter(challenge=challenge).values_list("user_id", flat=True))
        for user in User.objects.filter(role="member").exclude(pk__in=joined):
            participant_join(challenge=challenge, user=user)
            now = timezone.now()
            tx = Transaction.objects.create(user=user, amount=Decimal("500"), status="verified", source="c2b",
                                            transaction_id=f"BU{user.pk:08d}", mpesa_receipt=f"BU{user.pk:08d}",
                                            transacted_at=now, verified_at=now)
            deposit_score(transaction_id=tx.pk)
        return list(User.objects.filter(role="member").values_list("phone_number", flat=True))


def make_sessions(n: int, phones: list[str], seed: int = 11) -> list[list[bytes]]:
    """Each session: the form bodies of its steps, in order (text = the inputs so far joined by `*`)."""
    rng = random.Random(seed)
    sessions = []
    for _ in range(n):
        path, phone, session_id = rng.choice(PATHS), rng.choice(phones), f"ATUid_{uuid.uuid4().hex}"
        steps = []
        for i in range(len(path) + 1):
            steps.append(urllib.parse.urlencode({"sessionId": session_id, "serviceCode": CODE, "phoneNumber": phone,
                                                 "text": "*".join(path[:i]), "networkCode": "63902"}).encode())
        sessions.append(steps)
    return sessions


def load(port: int, path: str, sessions: list[list[bytes]], concurrency: int) -> dict:
    work: queue.Queue = queue.Queue()
    for session in sessions:
        work.put(session)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, kinds = [], {}
        while True:
            try:
                session = work.get_nowait()
            except queue.Empty:
                break
            for body in session:
                started = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers={
                        "Host": "localhost", "Content-Type": "application/x-www-form-urlencoded"})
                    response = conn.getresponse()
                    text = response.read().decode()
                    kind = f"{response.status} {text[:3]}"
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    kind = "error"
                mine.append((time.perf_counter() - started) * 1000)
                kinds[kind] = kinds.get(kind, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in kinds.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"steps": len(latencies), "seconds": round(elapsed, 2), "per_second": round(len(latencies) / elapsed, 1),
            **{f"p{p}_ms": round(percentile(latencies, p), 2) for p in (50, 95, 99)},
            "max_ms": round(max(latencies), 2), "answers": statuses}


def run(label: str, settings_module: str, path: str, sessions, args) -> dict:
    port = free_port()
    server = start_gunicorn(port, settings_module, args.gunicorn_workers, args.threads, {**ENV, **db_env("persistent")})
    try:
        load(port, path, sessions[: max(20, len(sessions) // 10)], args.concurrency)  # warm up every process
        database = connection.settings_dict["NAME"]
        server_cpu, db_cpu = cpu_seconds(pgid=server.pid), cpu_seconds(database=database)
        result = load(port, path, sessions, args.concurrency)
        # CPU time per step (server processes, PostgreSQL backends): steadier than latency on a shared machine
        steps = result["steps"]
        result["server_cpu_ms_per_step"] = round((cpu_seconds(pgid=server.pid) - server_cpu) * 1000 / steps, 2)
        result["postgres_cpu_ms_per_step"] = round((cpu_seconds(database=database) - db_cpu) * 1000 / steps, 2)
    finally:
        stop(server)
    print(f"  {label}: {result}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    load_before = os.getloadavg()
    phones = setup_org()
    sessions = make_sessions(args.sessions, phones)
    baseline = run("baseline", "bench.ussd_baseline", "/baseline", sessions, args)
    real = run("real", "savegame.settings", "/hooks/ussd/", sessions, args)
    print(json.dumps({
        "sessions": args.sessions, "concurrency": args.concurrency,
        "server": f"gunicorn {args.gunicorn_workers} workers x {args.threads} gthread threads",
        "baseline": baseline, "real": real,
        "ratio_p50": round(real["p50_ms"] / baseline["p50_ms"], 1),
        "ratio_p99": round(real["p99_ms"] / baseline["p99_ms"], 1),
        "p99_under_1s": real["p99_ms"] < 1000,
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()

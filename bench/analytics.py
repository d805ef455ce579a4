"""Benchmark: GET /api/v1/analytics/overview with 100,000 deposits and 5,000 members in one org.

    .venv/bin/python bench/analytics.py [--members 5000] [--deposits 100000] [--requests 300] [--keep]

Creates a throw-away organization, bulk-loads a year of data (members, challenges, verified
deposits, events), then times the endpoint in-app (Django test client through the whole
middleware stack, JWT/session auth bypassed with force_authenticate): first live-only (no
rollups), then after the nightly rollup. Drops the organization at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def load(members: int, deposits: int, seed: int = 7) -> None:
    from accounts.models import User
    from analytics.models import Event
    from analytics.sources import org_timezone
    from challenges.models import Challenge
    from payments.models import Transaction

    rng = random.Random(seed)
    tz = org_timezone()
    now = datetime.now(tz)
    year_ago = now - timedelta(days=365)
    users = [
        User(
            phone_number=f"+2547{i:08d}",
            name=f"Member {i}",
            role="member",
            account_code=f"B{i:07d}"[:12],
            date_joined=year_ago + timedelta(seconds=rng.randrange(365 * 86400)),
            password="!",
        )
        for i in range(members)
    ]
    User.objects.bulk_create(users, batch_size=2000)
    user_ids = list(User.objects.filter(role="member").values_list("id", flat=True))
    joined = dict(User.objects.filter(role="member").values_list("id", "date_joined"))
    challenges = []
    for m in range(12):
        start = (year_ago + timedelta(days=30 * m)).date()
        challenges.append(
            Challenge(
                name=f"Month {m}",
                type="fixed_amount",
                target={"amount": 500, "frequency": "weekly"},
                duration_days=28,
                start_date=start,
                end_date=start + timedelta(days=27),
                status="completed" if m < 11 else "active",
                code=f"B{m:03d}",
            )
        )
    Challenge.objects.bulk_create(challenges)
    challenge_ids = list(Challenge.objects.values_list("id", flat=True))
    span = (now - year_ago).total_seconds()
    rows = []
    for i in range(deposits):
        uid = rng.choice(user_ids)
        start = max(joined[uid], year_ago)
        at = start + timedelta(seconds=rng.randrange(max(int((now - start).total_seconds()), 1)))
        rows.append(
            Transaction(
                user_id=uid,
                challenge_id=rng.choice(challenge_ids) if rng.random() < 0.6 else None,
                amount=Decimal(rng.choice([50, 100, 200, 250, 500, 1000, 1500])),
                status="verified",
                source="c2b",
                transaction_id=f"BN{i:08d}",
                mpesa_receipt=f"BN{i:08d}",
                transacted_at=at,
            )
        )
        if len(rows) == 5000:
            Transaction.objects.bulk_create(rows)
            rows = []
    Transaction.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_transaction SET created_at = transacted_at + interval '20 seconds'")
    events = [
        Event(
            type=rng.choice(["login", "notification_opened", "deposit_verified", "challenge_joined"]),
            user_id=rng.choice(user_ids),
            created_at=year_ago + timedelta(seconds=rng.randrange(int(span))),
            properties={"challenge_id": rng.choice(challenge_ids)},
        )
        for _ in range(deposits // 5)
    ]
    Event.objects.bulk_create(events, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client: APIClient, path: str, n: int) -> dict:
    for _ in range(5):  # warm-up: connections, caches, first-query plans
        assert client.get(path).status_code == 200
    times, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.content[:200]
    return {
        "n": n, "p50": statistics.median(times), "p95": percentile(times, 95), "p99": percentile(times, 99),
        "max": max(times), "cpu50": statistics.median(cpu), "cpu99": percentile(cpu, 99),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--deposits", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="Keep the organization afterwards.")
    parser.add_argument("--reuse", metavar="SLUG", help="Time an organization kept by an earlier --keep run.")
    args = parser.parse_args()

    from accounts.models import User
    from analytics.services import organization_stats_publish, rollup_backfill
    from tenants.models import Organization
    from tenants.services import organization_create, public_tenant_ensure

    t0 = time.perf_counter()
    public_tenant_ensure()
    if args.reuse:
        org, args.keep = Organization.objects.get(slug=args.reuse), True
    else:
        org = organization_create(
            slug=f"bench-{os.getpid()}", name="Bench analytics", type="sacco", admin_phone="+254799999999"
        )
    host = f"{org.slug}.{settings.BASE_DOMAIN}"
    try:
        results = {}
        if not args.reuse:
            with schema_context(org.schema_name):
                started = time.perf_counter()
                load(args.members, args.deposits)
                print(
                    f"loaded {args.members} members, {args.deposits} deposits in {time.perf_counter() - started:.1f}s"
                )
        with schema_context(org.schema_name):
            admin = User.objects.get(role="org_admin")
        client = APIClient(HTTP_HOST=host)
        client.force_authenticate(admin)
        if not args.reuse:
            results["overview (live only, no rollups)"] = measure(
                client, "/api/v1/analytics/overview", max(args.requests // 3, 20)
            )
        with schema_context(org.schema_name):
            started = time.perf_counter()
            days = rollup_backfill()
            organization_stats_publish()
            print(f"rollup backfill: {days} days in {time.perf_counter() - started:.1f}s")
        results["overview (rollups + live today)"] = measure(client, "/api/v1/analytics/overview", args.requests)
        results["savings-trends (90 days, weekly)"] = measure(
            client, "/api/v1/analytics/savings-trends?granularity=week", 50
        )
        results["engagement (90 days)"] = measure(client, "/api/v1/analytics/engagement", 30)
        print("\n| endpoint | requests | p50 ms | p95 ms | p99 ms | max ms | app CPU p50 / p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for name, r in results.items():
            print(
                f"| {name} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} "
                f"| {r['cpu50']:.1f} / {r['cpu99']:.1f} |"
            )
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        target = results["overview (rollups + live today)"]["p99"]
        print(f"\noverview p99 {target:.1f} ms (target < 100 ms): {'PASS' if target < 100 else 'FAIL'}")
    finally:
        if not args.keep:
            connection.set_schema_to_public()
            Organization.objects.get(pk=org.pk).delete(force_drop=True)
        print(f"total {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scoring throughput: verified deposits scored per second by one worker (deposit_score in-process).

Each member has joined three active challenges (fixed weekly, weekly streak, percentage), so an untagged
deposit updates three participations, their award rows, Redis boards (write-through + publish) and badges.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/scoring.py [--members 500] [--deposits 3000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from common import bench_org, copy_users, percentile  # noqa: E402  (sets up Django)
from django.utils import timezone  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--deposits", type=int, default=3000)
    parser.add_argument("--single", type=int, default=300, help="deposits scored one at a time first (latency)")
    parser.add_argument("--batch", type=int, default=500, help="then the rest in batches of this size")
    options = parser.parse_args()

    from challenges.models import Participant
    from challenges.services import (challenge_create, deposit_score, deposits_score, organization_zone,
                                     participant_join)
    from payments.models import Transaction

    org = bench_org("bench-score")
    zone = organization_zone(org)
    today = timezone.localdate()
    run = int(time.time())
    print(f"setting up {options.members} members in 3 challenges ...", flush=True)
    specs = [("fixed_amount", {"amount": 500, "frequency": "weekly"}),
             ("streak", {"consecutive_weeks": 4, "min_amount": 100}),
             ("percentage", {"increase": 20, "baseline": "last_month", "min_amount": 2000})]
    challenges = [challenge_create(actor=None, name=f"Bench {kind} {run}", type=kind, target=target, duration_days=60,
                                   start_date=today - timedelta(days=30), status="active") for kind, target in specs]
    user_ids = copy_users(options.members, phone_base=(run % 900) * 10_000 + 20_000_000,
                          code_prefix="")
    from accounts.models import User

    users = list(User.objects.filter(pk__in=user_ids))
    started = time.perf_counter()
    for challenge in challenges:
        for user in users:
            participant_join(challenge=challenge, user=user)
    print(f"  joined {len(users) * 3} participations in {time.perf_counter() - started:.1f}s", flush=True)

    rng = random.Random(run)
    rows = []
    for i in range(options.deposits):
        day = today - timedelta(days=rng.randint(0, 29))
        when = datetime.combine(day, dtime(rng.randint(6, 21), rng.randint(0, 59)), tzinfo=zone)
        receipt = f"S{run % 100000:05d}{i:06d}"
        rows.append(Transaction(user=rng.choice(users), amount=Decimal(rng.choice([50, 100, 200, 500, 1000, 2500])),
                                status="verified", source="c2b", transaction_id=receipt, mpesa_receipt=receipt,
                                transacted_at=when, verified_at=when))
    Transaction.objects.bulk_create(rows, batch_size=2000)
    # Fresh statistics, as autovacuum would have them in production (stale ones after a bulk load made the
    # badge metrics query scan the whole status index).
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("payments_transaction", "challenges_participant", "challenges_contribution",
                      "challenges_pointaward", "notifications_notification"):
            cursor.execute(f"ANALYZE {table}")
    ids = list(Transaction.objects.filter(transaction_id__startswith=f"S{run % 100000:05d}").order_by("pk")
               .values_list("pk", flat=True))

    single, rest = ids[:options.single], ids[options.single:]
    samples = []
    started = time.perf_counter()
    for tx_id in single:
        t0 = time.perf_counter()
        deposit_score(transaction_id=tx_id)
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    if single:
        print(f"one at a time: scored {len(single)} deposits (each into 3 participations) in {elapsed:.2f}s: "
              f"{len(single) / elapsed:.0f} deposits/s; per deposit p50 {percentile(samples, 50):.2f} ms, "
              f"p99 {percentile(samples, 99):.2f} ms")
    batches = []
    started = time.perf_counter()
    for start in range(0, len(rest), options.batch):
        t0 = time.perf_counter()
        deposits_score(transaction_ids=rest[start:start + options.batch])
        batches.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    if rest:
        print(f"in batches of {options.batch} (a worker draining a backlog): scored {len(rest)} deposits in "
              f"{elapsed:.2f}s: {len(rest) / elapsed:.0f} deposits/s; per batch p50 {percentile(batches, 50):.0f} ms, "
              f"p99 {percentile(batches, 99):.0f} ms")
    t0 = time.perf_counter()
    for tx_id in ids[:500]:
        deposit_score(transaction_id=tx_id)
    replay = time.perf_counter() - t0
    print(f"replaying 500 already-scored deposits (idempotent no-ops): {500 / replay:.0f}/s")
    totals = Participant.objects.filter(challenge__in=challenges).count()
    print(f"participations: {totals}")


if __name__ == "__main__":
    main()

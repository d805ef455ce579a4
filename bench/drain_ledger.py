"""Drain rate as the ledger grows (issue 20): rows/s of the inbox drain (crediting + the hand-over to
scoring, in-process) for the same burst at several ledger sizes.

The campaign saw ~100 rows/s fall to ~30 rows/s once the ledger held ~16,000 rows. The ledger is filled
with COPY (verified C2B deposits of the same few members, already handed over), one organization per
size; then bursts of confirmations for those members are stored and drained, going round the sizes in
turn; the median rate at each size is reported against the rate at the smallest size in the same run.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/drain_ledger.py [--sizes 1000,20000,200000]
        [--members 50] [--burst 600] [--runs 3] [--explain] [--profile]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from common import bench_org, copy_users  # noqa: E402  (sets up Django)
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def ledger_fill(*, to: int, user_ids: list[int], run: int) -> None:
    """COPY verified, already-scored deposits until the ledger holds `to` rows."""
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".payments_transaction')
        have = cursor.fetchone()[0]
        if have >= to:
            return
        started = time.perf_counter()
        now = timezone.now()
        with cursor.cursor.copy(
                f'COPY "{schema}".payments_transaction (user_id, amount, status, source, transaction_id, mpesa_receipt, '
                "phone_number, bill_ref_number, transacted_at, verified_at, merchant_request_id, result_code, "
                "result_desc, payer_name, created_at, updated_at) FROM STDIN") as copy:
            for i in range(have, to):
                when = now - timedelta(minutes=(to - i) * 3)  # spread over weeks, like a real history
                receipt = f"FILL{run % 10000:04d}{i:08d}"
                copy.write_row((user_ids[i % len(user_ids)], "100.00", "verified", "c2b", receipt, receipt,
                                "+254700000000", "", when, when, "", "", "", "", when, when))
        cursor.execute(f'INSERT INTO "{schema}".challenges_scoreddeposit (transaction_id, scored_at) '
                       f'SELECT id, now() FROM "{schema}".payments_transaction ON CONFLICT DO NOTHING')
        cursor.execute(f'ANALYZE "{schema}".payments_transaction')
        cursor.execute(f'ANALYZE "{schema}".challenges_scoreddeposit')
    from challenges.services import member_metrics_rebuild

    member_metrics_rebuild(user_ids=user_ids)  # the badges' figures, as the scoring of that history left them
    print(f"  ledger {have} -> {to} rows in {time.perf_counter() - started:.1f}s", flush=True)


def burst_drain(*, codes: list[str], token: str, burst: int, tag: str) -> float:
    from payments.inbox import callback_store, inbox_drain
    from tests.payments.conftest import c2b_payload

    for i in range(burst):
        callback_store(kind="confirmation", token=token,
                       body=c2b_payload(trans_id=f"B{tag}{i:06d}", amount="150", bill_ref=codes[i % len(codes)]))
    started = time.perf_counter()
    credited = inbox_drain(time_budget=3600)
    elapsed = time.perf_counter() - started
    assert credited == burst, (credited, burst)
    return burst / elapsed


def profile(*, codes: list[str], token: str, burst: int, tag: str) -> None:
    """The drain's statements by total time (normalised: numbers and literals folded)."""
    import re
    from collections import defaultdict

    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        burst_drain(codes=codes, token=token, burst=burst, tag=tag)
    total: dict[str, list[float]] = defaultdict(list)
    for q in queries.captured_queries:
        shape = re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"] or "")[:160]
        total[shape].append(float(q["time"]))
    print("  top statements (total s, count, statement):")
    for shape, times in sorted(total.items(), key=lambda kv: -sum(kv[1]))[:8]:
        print(f"  {sum(times):7.3f} {len(times):5d}  {shape}")


def explain(user_ids: list[int]) -> None:
    """EXPLAIN ANALYZE the badge metrics' deposits query for one batch's members (before issue 20's fix
    the ledger scan that grew with the ledger; now one row per member)."""
    from challenges.metrics import MetricsLoader
    from tenants.calendar import organization_zone

    loader = MetricsLoader(user_ids, organization_zone(connection.tenant))
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        loader._load("deposits")
    sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        print("\n".join(row[0] for row in cursor.fetchall()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,20000,200000")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--burst", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3, help="bursts per size; the median is reported")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", action="store_true", help="the drain's statements by time at each size")
    options = parser.parse_args()
    from accounts.models import User
    from payments.models import MpesaSettings

    # One organization per ledger size, filled first; then the bursts go round the sizes in turn
    # (forward, then backward), so a load that rises or falls on the shared machine weighs on every
    # size alike instead of on whichever size happened to be measured last.
    run = int(time.time())
    sizes = [int(s) for s in options.sizes.split(",")]
    orgs = {}
    for n, size in enumerate(sizes):
        org = bench_org(f"bench-drain-{run % 100000}-{n}")
        token = MpesaSettings.objects.get().callback_token
        user_ids = copy_users(options.members, phone_base=(run % 900) * 10_000 + 30_000_000 + n * 1000,
                              code_prefix="")
        codes = list(User.objects.filter(pk__in=user_ids).values_list("account_code", flat=True))
        ledger_fill(to=size, user_ids=user_ids, run=run)
        # a burst not counted: per-process caches and prepared statements warm up first
        burst_drain(codes=codes, token=token, burst=100, tag="warm")
        orgs[size] = (org, token, user_ids, codes)
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    cpu: dict[int, list[float]] = {size: [] for size in sizes}
    loads = []
    for r in range(options.runs):
        for size in (sizes if r % 2 == 0 else sizes[::-1]):
            org, token, user_ids, codes = orgs[size]
            connection.set_tenant(org)
            started = time.process_time()
            rates[size].append(burst_drain(codes=codes, token=token, burst=options.burst, tag=f"{size}r{r}"))
            cpu[size].append((time.process_time() - started) * 1000 / options.burst)
        loads.append(open("/proc/loadavg").read().split()[0])
        print(f"round {r + 1}: " + ", ".join(f"{size}: {rates[size][-1]:.1f} rows/s" for size in sizes)
              + f"  (load {loads[-1]})", flush=True)
    results = []
    for size in sizes:
        org, token, user_ids, codes = orgs[size]
        connection.set_tenant(org)
        rate = sorted(rates[size])[len(rates[size]) // 2]  # the median: the machine is shared
        results.append({"ledger_rows": size, "rows_per_s": round(rate, 1), "runs": [round(x, 1) for x in rates[size]],
                        "python_cpu_ms_per_row": round(sorted(cpu[size])[len(cpu[size]) // 2], 2)})
        if options.profile:
            print(f"ledger {size}:")
            profile(codes=codes, token=token, burst=options.burst, tag=f"{size}p")
        if options.explain:
            print(f"ledger {size}: the badge metrics' deposit figures for one batch's members")
            explain(user_ids[:options.members])
    base = results[0]["rows_per_s"]
    for row in results:
        row["ratio_to_first"] = round(row["rows_per_s"] / base, 3)
    print(json.dumps({"members": options.members, "burst": options.burst, "load_after_each_round": loads,
                      "results": results}, indent=1))
    connection.set_schema_to_public()
    for org, *_ in orgs.values():
        org.delete(force_drop=True)


if __name__ == "__main__":
    main()

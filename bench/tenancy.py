"""Tenancy at 1,000 organizations, on a private PostgreSQL cluster (bench/pgcluster.py).

Usage (REDIS_URL: a Redis database of your own; the cluster is made, used and deleted here):
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/tenancy.py --orgs 1000

Measures, in one run:
- provisioning through `tenants.services.organization_create` (blueprint replay), per organization,
  mean of the 2nd-11th against the last ten; django-tenants' clone (the old path) sampled at ~10
  and at the end; the pool alternative's critical step (ALTER SCHEMA ... RENAME);
- `migrate_all` with one additive migration (bench/benchapp 0002) and with nothing to apply, against
  `migrate_schemas --tenant` (django-tenants' multiprocessing executor) and
  django-tenants-smart-executor, with nothing to apply;
- a Celery worker's PostgreSQL backend memory over one beat cycle (every per-tenant periodic task
  sent to every organization), with the reconnect rule and without it;
- request latency of one endpoint on the 1st and the last organization (same data).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgcluster import PrivateCluster  # noqa: E402

SMART_EXECUTOR_DIR = os.environ.get("BENCH_SMART_EXECUTOR_DIR", "/tmp/tenancy_smartexec")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def manage(*args: str, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True,
                   env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def catalog_size() -> tuple[int, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class")
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relnamespace = "
                       "'pg_catalog'::regnamespace AND relkind = 'r'")
        size = float(cursor.fetchone()[0]) / 1e6
    return rows, size


def _provision(slug: str, phone: str, *, clone: bool = False) -> float:
    from django.db import connection

    import tenants.provisioning as provisioning
    from tenants.services import organization_create

    real = provisioning.schema_provision
    provisioning.schema_provision = (lambda **kw: False) if clone else real
    try:
        started = time.perf_counter()
        organization_create(slug=slug, name=slug, type="chama", admin_phone=phone)
        return time.perf_counter() - started
    finally:
        provisioning.schema_provision = real
        connection.close()  # each provisioning is its own admin request in real life


def _filler(indexes: list[int]) -> list[float]:
    return [_provision(f"bench-{i:04d}", f"+2547{i:08d}") for i in indexes]


def _samples(args, tag: str, first_index: int) -> dict:
    """Sequential samples with nothing else of ours running: replay (pool empty), pooled, clone."""
    from tenants.provisioning import schema_pool_fill

    replay = [_provision(f"bench-{i:04d}", f"+2547{i:08d}") for i in range(first_index, first_index + 10)]
    schema_pool_fill(size=args.pool_samples)
    pooled = [_provision(f"pooled-{tag}{j}", f"+2541{j:04d}{ord(tag[0]):04d}") for j in range(args.pool_samples)]
    clone = [_provision(f"clone-{tag}{j}", f"+2541{50 + j:04d}{ord(tag[0]):04d}", clone=True)
             for j in range(args.clone_samples)]
    return {"replay": replay, "pooled": pooled, "clone": clone}


def provision_phase(args, results: dict) -> list[str]:
    import multiprocessing

    from django.db import connection

    from tenants.provisioning import blueprint_refresh

    blueprint_refresh()
    connection.close()
    started = time.perf_counter()
    early = _samples(args, "a", 0)  # organizations 1-10 (+ pooled and clone samples)
    print(f"  early samples: {json.dumps({k: [round(t, 3) for t in v] for k, v in early.items()})} "
          f"load {load()}", flush=True)
    first_filler, last_filler = 10, args.orgs - 10
    filler_times: list[float] = []
    chunk = 50
    todo = [list(range(i, min(i + chunk, last_filler))) for i in range(first_filler, last_filler, chunk)]
    with multiprocessing.get_context("fork").Pool(args.fill_processes) as pool:
        for n, times in enumerate(pool.imap(_filler, todo), 1):
            filler_times += times
            if n % 4 == 0:
                rows, size = catalog_size()
                connection.close()
                print(f"  {first_filler + len(filler_times)} orgs, filler mean {statistics.mean(times):.2f}s "
                      f"({args.fill_processes} at once), pg_class {rows}, catalog {size:.0f} MB, "
                      f"{time.perf_counter() - started:.0f}s, load {load()}", flush=True)
    late = _samples(args, "z", last_filler)  # organizations N-9..N
    rows, size = catalog_size()
    connection.close()

    def mean(values):
        return round(statistics.mean(values), 3)

    out = {"orgs": args.orgs, "wall_seconds": round(time.perf_counter() - started),
           "pg_class_rows": rows, "catalog_mb": round(size), "load": load(),
           "filler": {"n": len(filler_times), "processes": args.fill_processes,
                      "p50": round(statistics.median(filler_times), 3) if filler_times else None}}
    for kind in ("replay", "pooled", "clone"):
        a, z = early[kind], late[kind]
        if a and z:
            out[kind] = {"early_mean": mean(a), "late_mean": mean(z), "ratio": round(statistics.mean(z) / statistics.mean(a), 2),
                         "early": [round(t, 3) for t in a], "late": [round(t, 3) for t in z]}
    results["provision"] = out
    print("provision:", json.dumps(out), flush=True)
    from tenants.models import Organization
    return list(Organization.objects.exclude(schema_name="public").order_by("pk").values_list("schema_name", flat=True))


def _apply_probe_note_by_sql(schemas: list[str]) -> None:
    """benchapp 0002 for the organizations the timed run left out, as the SQL Django runs for it
    (sqlmigrate benchapp 0002) plus its migration row, 50 schemas per transaction."""
    from django.db import connection, transaction

    from tenants.visits import schema_batches

    for batch in schema_batches(schemas=schemas, size=50):
        with transaction.atomic(), connection.cursor() as cursor:
            for schema in batch:
                cursor.execute(f'ALTER TABLE "{schema}".benchapp_probe ADD COLUMN note varchar(40) DEFAULT \'\' NOT NULL')
                cursor.execute(f'ALTER TABLE "{schema}".benchapp_probe ALTER COLUMN note DROP DEFAULT')
                cursor.execute(f"INSERT INTO \"{schema}\".django_migrations (app, name, applied) "
                               f"VALUES ('benchapp', '0002_probe_note', now())")


def migrate_phase(args, results: dict, schemas: list[str]) -> None:
    count = len(schemas)
    n = min(count, args.additive_orgs)
    # benchapp 0002 is pending in the template and every org: the timed run applies it to the first n
    one = manage("migrate_all", "--limit", str(n), "-v", "0")
    _apply_probe_note_by_sql(schemas[n:])
    nothing = manage("migrate_all", "-v", "0")
    out = {"orgs": count, "additive_orgs": n, "one_additive_seconds": round(one, 1),
           "one_additive_per_min": round(n / one * 60),
           "nothing_seconds": round(nothing, 1), "nothing_per_min": round(count / nothing * 60)}
    if args.baselines:  # every schema migrated regardless, over the first --baseline-orgs organizations
        n = min(count, args.baseline_orgs)
        old = manage("migrate_all", "--all", "--limit", str(n), "-v", "0")
        out.update(baseline_orgs=n, django_tenants_nothing_seconds=round(old, 1),
                   django_tenants_nothing_per_min=round(n / old * 60))
        if Path(SMART_EXECUTOR_DIR).is_dir():
            env = {"PYTHONPATH": SMART_EXECUTOR_DIR, "BENCH_SMART_EXECUTOR": "1"}
            smart = manage("migrate_all", "--all", "--limit", str(n), "-v", "0", env=env)
            out.update(smart_executor_nothing_seconds=round(smart, 1), smart_executor_nothing_per_min=round(n / smart * 60))
    out["load"] = load()
    results["migrate"] = out
    print("migrate:", json.dumps(out), flush=True)


def _backend_private_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    fields = dict(line.split(":", 1) for line in text.splitlines()[1:] if ":" in line)
    return sum(int(fields.get(k, "0 kB").split()[0]) for k in ("Private_Clean", "Private_Dirty"))


def beat_phase(args, results: dict, schemas: list[str], label: str, extra_env: dict) -> None:
    import psycopg
    import redis
    from django.conf import settings
    from django_tenants.utils import schema_context

    from savegame.celery import _collect_beat_schedule, app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = ["celery", "payments", "notifications"]
    broker.delete(*queues, "unacked", "unacked_index")
    url = os.environ["DATABASE_URL"] + "?application_name=bench-worker"
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "savegame", "worker", "--pool", "solo", "-Q", ",".join(queues),
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, **extra_env},
        stdout=subprocess.DEVNULL, stderr=open(f"/tmp/bench-tenancy-worker-{label}.log", "w"))
    entries = [e for e in _collect_beat_schedule().values() if "tenant_schemas" not in e]
    if not args.beat_all:  # the entries due every minute or more often: the cycle beat repeats all day
        entries = [e for e in entries if isinstance(e["schedule"], (int, float)) and e["schedule"] <= 60]
    sent = 0
    for entry in entries:
        for schema in schemas:
            with schema_context(schema):
                app.send_task(entry["task"], args=entry.get("args", ()))
                sent += 1
    peak = {"kb": 0, "backends": set()}
    done = threading.Event()

    def sample():
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as watch:
            while not done.is_set():
                pids = [r[0] for r in watch.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-worker'").fetchall()]
                for pid in pids:
                    peak["backends"].add(pid)
                    peak["kb"] = max(peak["kb"], _backend_private_kb(pid))
                time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    idle = 0
    while idle < 3:
        time.sleep(1)
        busy = sum(broker.llen(q) for q in queues) + broker.hlen("unacked")
        idle = idle + 1 if busy == 0 else 0
    took = time.perf_counter() - started - 3
    done.set()
    sampler.join()
    worker.terminate()
    worker.wait(timeout=30)
    out = {"tasks": sent, "orgs": len(schemas), "entries": sorted(e["task"] for e in entries), "seconds": round(took, 1),
           "peak_backend_private_mb": round(peak["kb"] / 1024, 1), "backends_used": len(peak["backends"]),
           "env": extra_env, "load": load()}
    results.setdefault("beat", {})[label] = out
    print(f"beat ({label}):", json.dumps(out), flush=True)


def latency_phase(args, results: dict, first: str, last: str) -> None:
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from accounts.models import User
    from tenants.models import Organization

    clients = {}
    for schema in (first, last):
        org = Organization.objects.get(schema_name=schema)
        with schema_context(schema):
            user = User.objects.get(role="org_admin")
            client = Client(HTTP_HOST=f"{org.slug}.localhost")
            client.force_login(user)
        clients[schema] = client
    connection.close()
    timings = {first: [], last: []}
    for i in range(args.requests * 2 + 20):
        schema = (first, last)[i % 2]
        started = time.perf_counter()
        response = clients[schema].get("/api/v1/members")
        took = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if i >= 20:  # warm-up
            timings[schema].append(took * 1000)
    out = {"endpoint": "GET /api/v1/members (org admin, session)", "requests_each": args.requests,
           "first_p50_ms": round(statistics.median(timings[first]), 2), "first_p99_ms": round(percentile(timings[first], 99), 2),
           "last_p50_ms": round(statistics.median(timings[last]), 2), "last_p99_ms": round(percentile(timings[last], 99), 2),
           "load": load()}
    out["ratio_p50_last_to_first"] = round(out["last_p50_ms"] / out["first_p50_ms"], 2)
    results["latency"] = out
    print("latency:", json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--clone-samples", type=int, default=2)
    parser.add_argument("--pool-samples", type=int, default=5)
    parser.add_argument("--fill-processes", type=int, default=4)
    parser.add_argument("--baseline-orgs", type=int, default=100)
    parser.add_argument("--additive-orgs", type=int, default=100,
                        help="organizations the timed additive migration runs over (the rest get it by SQL)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-baselines", dest="baselines", action="store_false")
    parser.add_argument("--beat-all", action="store_true", help="every per-tenant entry, not only the frequent ones")
    parser.add_argument("--beat-baseline-orgs", type=int, default=300,
                        help="organizations visited by the worker without the reconnect rule (0: skip)")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    results: dict = {"started_load": load()}
    run_started = time.perf_counter()
    cluster = PrivateCluster().start()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # still stop the cluster
    try:
        os.environ.update(DATABASE_URL=cluster.url, DJANGO_SETTINGS_MODULE="bench.settings_tenancy",
                          TENANT_SCHEMA_POOL_SIZE="0",  # no refill tasks: the pool is filled where measured
                          API_RATE_PER_IP="1000000/min", API_RATE_PER_ORG="1000000/min")
        print(f"private cluster on port {cluster.port} in {cluster.dir}", flush=True)
        print(f"setup: migrate_all {manage('migrate_all', '-v', '0'):.1f}s", flush=True)
        # every org starts at benchapp 0001, so the bench has one additive migration left to apply
        manage("migrate_schemas", "--tenant", "--schema", "tenant_template", "benchapp", "0001", "-v", "0")
        import django

        django.setup()
        schemas = provision_phase(args, results)
        bench_orgs = [s for s in schemas if s.startswith("org_bench_")]
        latency_phase(args, results, bench_orgs[0], bench_orgs[-1])
        migrate_phase(args, results, schemas)
        from django.db import connection
        connection.close()
        beat_phase(args, results, schemas, "rule", {})
        if args.beat_baseline_orgs:
            beat_phase(args, results, schemas[:args.beat_baseline_orgs], "no-rule",
                       {"TENANT_SCHEMAS_PER_CONNECTION": "1000000", "CELERY_DB_REUSE_MAX": "1000000"})
    finally:
        from django.db import connections

        connections.close_all()
        cluster.stop()
    results["finished_load"] = load()
    results["run_seconds"] = round(time.perf_counter() - run_started)  # the whole run, against issue 19's ~30 min bound
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Tenancy benchmarks: provisioning time per organization, and migrate_schemas over many orgs.

Usage (a scratch database; it is dropped and recreated):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/savegame_bench REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/tenancy.py --orgs 200 --provision-sample 20

Reports p50/p99 provisioning seconds (template clone vs running every migration), and orgs/min for
`migrate_schemas --tenant` with one additive migration to apply and with nothing to apply.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_tenancy"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def reset_database() -> None:
    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)


def manage(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args, "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_tenancy"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--provision-sample", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()

    reset_database()
    manage("migrate_all", "--executor", "standard")
    # start every tenant at benchapp 0001 so the bench has one additive migration left to apply
    manage("migrate_schemas", "--tenant", "--schema", "tenant_template", "benchapp", "0001")

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from django.db import connection

    from tenants.services import organization_create

    clone_times = []
    for i in range(args.orgs):
        started = time.perf_counter()
        organization_create(slug=f"bench-{i:04d}", name=f"Bench {i}", type="chama",
                            admin_phone=f"+2547{i:08d}")
        clone_times.append(time.perf_counter() - started)
        connection.close()  # each provisioning is its own admin request / connection in real life
    full_times = []
    for i in range(min(5, args.provision_sample)):
        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False, TENANT_BASE_SCHEMA=None):
            started = time.perf_counter()
            organization_create(slug=f"full-{i:04d}", name=f"Full {i}", type="chama", admin_phone=f"+2541{i:08d}")
            full_times.append(time.perf_counter() - started)
            connection.close()
    total_orgs = args.orgs + len(full_times)
    # the "full" orgs ran every migration (benchapp included); roll them back to 0001 like the others
    for i in range(len(full_times)):
        manage("migrate_schemas", "--tenant", "--schema", f"org_full_{i:04d}", "benchapp", "0001")

    with_migration = manage("migrate_schemas", "--tenant", "--executor", "multiprocessing")
    nothing = manage("migrate_schemas", "--tenant", "--executor", "multiprocessing")
    nothing_std = manage("migrate_schemas", "--tenant", "--executor", "standard")

    print(f"organizations: {total_orgs} (+ template), processes: {settings.TENANT_MULTIPROCESSING_MAX_PROCESSES}")
    print(f"provision (template clone): n={len(clone_times)} p50={statistics.median(clone_times):.3f}s "
          f"p99={percentile(clone_times, 99):.3f}s max={max(clone_times):.3f}s")
    if full_times:
        print(f"provision (every migration): n={len(full_times)} p50={statistics.median(full_times):.3f}s "
              f"ratio clone/full={statistics.median(clone_times) / statistics.median(full_times):.2f}")
    print(f"migrate_schemas, one additive migration: {with_migration:.1f}s = {total_orgs / with_migration * 60:.0f} orgs/min")
    print(f"migrate_schemas, nothing to apply (multiprocessing): {nothing:.1f}s = {total_orgs / nothing * 60:.0f} orgs/min")
    print(f"migrate_schemas, nothing to apply (standard): {nothing_std:.1f}s = {total_orgs / nothing_std * 60:.0f} orgs/min")


if __name__ == "__main__":
    main()

"""Shared set-up for the benchmarks: a bench organization and fast bulk data (COPY)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def code_for(n: int, prefix: str = "") -> str:
    out = ""
    for _ in range(6 - len(prefix)):
        out = ALPHABET[n % len(ALPHABET)] + out
        n //= len(ALPHABET)
    return prefix + out


def bench_org(slug: str):
    """The bench organization (created once, reused by later runs)."""
    from tenants.models import Organization
    from tenants.services import organization_create

    connection.set_schema_to_public()
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = organization_create(slug=slug, name=f"Bench {slug}", type="sacco", admin_phone="+254799000001",
                                  admin_name="Bench Admin", shortcode="600777")
    connection.set_tenant(org)
    return org


def copy_users(count: int, *, phone_base: int, code_prefix: str) -> list[int]:
    """COPY `count` members into the current schema; returns their ids."""
    schema = connection.schema_name
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f'COPY "{schema}".accounts_user (password, is_superuser, phone_number, name, email, role, '
                      "account_code, avatar, language, is_active, is_staff, date_joined, updated_at) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row(("!", False, f"+2547{phone_base + i:08d}", f"Saver {i}", "", "member",
                                code_for(phone_base + i, code_prefix), "", "", True, False, "2026-01-01 00:00+00",
                                "2026-01-01 00:00+00"))
        cursor.execute(f'SELECT id FROM "{schema}".accounts_user WHERE phone_number >= %s AND phone_number < %s '
                       "ORDER BY id", [f"+2547{phone_base:08d}", f"+2547{phone_base + count:08d}"])
        ids = [row[0] for row in cursor.fetchall()]
    print(f"  copied {count} users in {time.perf_counter() - started:.2f}s", flush=True)
    return ids

"""Benchmark: fan out a streak reminder to N members of one organization (default 100,000) through
one Celery worker and the real `africastalking` SDK to a local stand-in of Africa's Talking.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/notifications.py [--members 100000]

It creates a throw-away organization (schema cloned from the template), inserts the members with
one INSERT ... SELECT generate_series, starts the stand-in (its own process, 127.0.0.1:<ephemeral>)
and one worker (`celery worker --pool solo`, its own process), starts the fan-out, and waits until
every message is sent. Then it stops both and drops the organization. Bounded: it gives up after
--timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")


def _run_standin(queue):
    from notifications.standin import ProviderStandIn

    standin = ProviderStandIn(api_key="bench-key").start()
    queue.put(standin.url)
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from tenants.services import organization_create

    queue = multiprocessing.get_context("spawn").Queue()
    standin = multiprocessing.get_context("spawn").Process(target=_run_standin, args=(queue,), daemon=True)
    standin.start()
    url = queue.get(timeout=30)

    slug = f"bench-{uuid.uuid4().hex[:6]}"
    t = time.perf_counter()
    org = organization_create(slug=slug, name="Bench Chama", type="chama", admin_phone="+254700900001")
    try:
        _run(args, org, url, t, standin)
    finally:
        standin.terminate()
        connection.set_schema_to_public()
        org.delete(force_drop=True)


def _run(args, org, url, t, standin) -> None:
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from notifications.models import Notification, SmsSettings
    from notifications.services import fanout_start

    with schema_context(org.schema_name):
        # Quiet hours off, so the run means the same at any hour; one reminder per member.
        SmsSettings.objects.create(username="bench", api_key="bench-key", sender_id="BENCH",
                                   quiet_hours_start="00:00", quiet_hours_end="00:00")
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO accounts_user (password, is_superuser, phone_number, name, email, role, account_code,
                       avatar, language, is_active, is_staff, date_joined, updated_at)
                   SELECT '!', false, '+2547' || lpad((10000000 + g)::text, 8, '0'), '', '', 'member',
                          'BN' || g::text, '', CASE WHEN g %% 3 = 0 THEN 'sw' ELSE '' END, true, false, now(), now()
                   FROM generate_series(1, %s) AS g""",
                [args.members],
            )
    setup_seconds = time.perf_counter() - t

    env = {**os.environ, "SMS_BACKEND": "africastalking", "AFRICASTALKING_API_URL": url,
           "AFRICASTALKING_CHAT_URL": url, "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "savegame", "worker", "--pool", "solo", "--concurrency", "1",
         "-Q", "notifications", "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=ROOT, env=env,
    )
    recipients = args.members + 1  # plus the org admin
    try:
        time.sleep(3)  # let the worker connect
        with schema_context(org.schema_name):
            started = time.perf_counter()
            fanout_start(template="streak_at_risk", audience="members", context={}, key_prefix=f"bench{uuid.uuid4().hex[:6]}")
            done = 0
            while time.perf_counter() - started < args.timeout:
                done = Notification.objects.filter(status__in=["sent", "failed", "skipped"]).count()
                if done >= recipients:
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            sent = Notification.objects.filter(status="sent").count()
        stats = json.loads(urllib.request.urlopen(f"{url}/_stats", timeout=5).read())
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    print(json.dumps({
        "members": recipients, "sent": sent, "finished": done >= recipients, "seconds": round(elapsed, 2),
        "messages_per_second": round(sent / elapsed, 1), "provider_requests": stats["sms_requests"],
        "provider_messages": stats["messages_sent"], "setup_seconds": round(setup_seconds, 2),
        "batch_size": settings.NOTIFICATIONS_BATCH_SIZE, "fanout_batch": settings.NOTIFICATIONS_FANOUT_BATCH,
    }, indent=2))


if __name__ == "__main__":
    main()

"""Where a callback's CPU goes, without HTTP: Django's WSGI handler called in a loop, one thread.

    .venv/bin/python bench/callbacks_inprocess.py [--callbacks 3000] [--rounds 5]

Runs each variant in its own process, `--rounds` times, taking turns, and prints one JSON document with
the median CPU per callback of the Django process (`time.process_time`, its kick thread included) and of
the PostgreSQL backends (bench/callbacks.py's cpu_seconds), plus the real path's ratio to the baseline:

- baseline: bench/callbacks_baseline.py (a bare view doing one INSERT ... ON CONFLICT);
- real: the production callback path (prepared inbox insert, coalesced kick);
- real, kick inline: PAYMENTS_KICK_COALESCE_MS=0 (one Redis round trip per callback, in the request);
- real, unprepared: DB_PREPARE_THRESHOLD=off (the inbox insert planned on every callback).

Every callback has a new TransID (no replays), so each one stores a row. Same organization and database
as bench/callbacks.py (DATABASE_URL / REDIS_URL); no Celery worker runs, kicked drains wait in the queue.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VARIANTS = {
    "baseline": {"DJANGO_SETTINGS_MODULE": "bench.callbacks_baseline"},
    "real": {},
    "real, kick inline": {"PAYMENTS_KICK_COALESCE_MS": "0"},
    "real, unprepared": {"DB_PREPARE_THRESHOLD": "off"},
}
COMMON_ENV = {"LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "60", "MPESA_ALLOWED_IPS": "127.0.0.1"}


def measure(variant: str, callbacks: int) -> dict:
    """In this process: send `callbacks` new C2B confirmations through the WSGI handler."""
    sys.path.insert(0, str(ROOT))
    from bench import callbacks as bench

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    org, codes, token = bench.setup_org()
    connection.set_schema_to_public()
    if variant == "baseline":
        host, path = "localhost", "/baseline"
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS public.bench_callback_baseline (id bigserial PRIMARY KEY,"
                           " trans_id varchar(40) UNIQUE NOT NULL, payload jsonb NOT NULL,"
                           " received_at timestamptz DEFAULT now())")
    else:
        host, path = f"{bench.SLUG}.localhost", f"/hooks/pay/{token}/c2b/confirmation"
    tag = f"I{time.time_ns() % 10**9:09d}"
    bodies = []
    for n, body in enumerate(bench.make_requests(callbacks + 100, codes, seed=time.time_ns())):
        body["TransID"] = f"{tag}{n:06d}"  # unique: no replays here
        bodies.append(json.dumps(body).encode())
    app = WSGIHandler()

    def call(data: bytes) -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
                   "SERVER_NAME": host, "SERVER_PORT": "80", "HTTP_HOST": host, "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(data)), "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(data),
                   "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1"}
        statuses = []
        response = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(response)
        response.close()
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{variant}: {statuses[0]}")

    for data in bodies[:100]:  # warm-up: connection, caches, the statement prepared
        call(data)
    database = connection.settings_dict["NAME"]
    cpu, db_cpu, started = time.process_time(), bench.cpu_seconds(database=database), time.perf_counter()
    for data in bodies[100:]:
        call(data)
    per = 1000 / callbacks
    return {"python_cpu_ms": (time.process_time() - cpu) * per,
            "postgres_cpu_ms": (bench.cpu_seconds(database=database) - db_cpu) * per,
            "wall_ms": (time.perf_counter() - started) * per}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)  # one measurement, in a child
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.callbacks)))
        return

    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, env in VARIANTS.items():
            child = subprocess.run([sys.executable, __file__, "--variant", name, "--callbacks", str(args.callbacks)],
                                   cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "savegame.settings",
                                                  **COMMON_ENV, **env},
                                   capture_output=True, text=True, check=True)
            runs[name].append(json.loads(child.stdout.strip().splitlines()[-1]))
    result = {"callbacks": args.callbacks, "rounds": args.rounds, "cpus": os.cpu_count()}
    for name, measured in runs.items():
        result[name] = {key: round(statistics.median(m[key] for m in measured), 3) for key in measured[0]}
    base = result["baseline"]["python_cpu_ms"] + result["baseline"]["postgres_cpu_ms"]
    for name in VARIANTS:
        if name != "baseline":
            total = result[name]["python_cpu_ms"] + result[name]["postgres_cpu_ms"]
            result[name]["baseline_cpu_over_this"] = round(base / total, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: the web tier as the Procfile ships it (issue 13, the web half).

    .venv/bin/python bench/web.py [--duration 10] [--warmup 3] [--connections 16] [--rounds 1]
                                  [--members 2000] [--deposits-per-member 10] [--port 9210] [--only NAME,...]
                                  [--fresh] [--setup-only] [--out /tmp/bench-web.json]

The server is the Procfile's own `web` command (collectstatic, then gunicorn gthread with
WEB_CONCURRENCY workers x WEB_THREADS threads and CONN_MAX_AGE=60), DEBUG=0, real PostgreSQL
(DATABASE_URL) and Redis (REDIS_URL), bound to loopback (the Procfile's 0.0.0.0 becomes
127.0.0.1). It is started twice, the same command each time:

1. DJANGO_SETTINGS_MODULE=bench.settings_bare: no middleware, one URL (/bench/bare): a bare
   Django JSON view, the floor;
2. DJANGO_SETTINGS_MODULE=bench.settings_bench: the real settings (our whole middleware stack),
   the organization's URLs plus the same /bench/bare view behind the middleware.

wrk (16 connections, 2 threads, `--latency`) drives each target for --duration seconds after
--warmup seconds: the two baselines, then each member endpoint (`/api/v1/challenges`, the
challenge leaderboard, progress, achievements, transactions, member home `/`) and the leader
overview `/manage/`. Member endpoints rotate over 100 members (a Lua script: each request picks
the next member's token or session cookie and, where the path names the member, their id).
Every response must be 2xx: a run with any other status fails. The API and hook rate limits are
raised (the limiter still runs and counts in Redis on every request).

A bench organization `bench-web` (--members members, one running weekly challenge everyone joined,
--deposits-per-member verified deposits each over the 34 days before today (recorded on the day
they were paid), scored through the game, days
before today rolled up by analytics_backfill, a few deposits today so the overview has a live
delta) is created once and reused. Prints one JSON document: per target p50, p99, req/s, ratios to
both baselines, and `uptime`'s load before and after each target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from unittest import mock
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.web_env import BENCH_ENV  # noqa: E402

SLUG = "bench-web"
ROTATE = 100


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --- data -------------------------------------------------------------------------------------
def setup(members: int, per_member: int, fresh: bool = False):
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.authentication import tokens_for_user
    from accounts.models import User
    from bench.common import bench_org, copy_users
    from challenges.models import Challenge, Participant
    from challenges.services import challenge_create, deposits_score, local_today, participant_join
    from payments.models import Transaction

    if fresh:
        from tenants.models import Organization

        connection.set_schema_to_public()
        old = Organization.objects.filter(slug=SLUG).first()
        if old is not None:
            old.delete(force_drop=True)
    org = bench_org(SLUG)
    today = local_today()
    have = User.objects.filter(role="member").count()
    if have < members:
        print(f"setting up {SLUG}: {members - have} members", flush=True)
        copy_users(members - have, phone_base=60_000_000 + have, code_prefix="W")
    challenge = Challenge.objects.filter(name="Bench weekly").first()
    if challenge is None:
        challenge = challenge_create(actor=None, name="Bench weekly", type="fixed_amount",
                                     target={"amount": "500", "frequency": "weekly"}, duration_days=120,
                                     start_date=today - timedelta(days=35), status="active")
    joined = set(Participant.objects.filter(challenge=challenge).values_list("user_id", flat=True))
    todo = list(User.objects.filter(role="member").exclude(pk__in=joined).order_by("pk"))
    if todo:
        print(f"  joining {len(todo)} members", flush=True)
    for user in todo:
        participant_join(challenge=challenge, user=user)
    ids = list(User.objects.filter(role="member").order_by("pk").values_list("pk", flat=True))
    if not Transaction.objects.filter(transaction_id__startswith="BW").exists():
        print(f"  {len(ids) * per_member} deposits, scored", flush=True)
        now = timezone.now()
        by_day: dict[int, list] = {}
        n = 0
        for k in range(per_member):
            for user_id in ids:
                n += 1
                days = 1 + (n * 7919) % 34
                when = now - timedelta(days=days, minutes=n % 600)
                by_day.setdefault(days, []).append(Transaction(
                    user_id=user_id, challenge=challenge, amount=Decimal(50 + n % 20 * 25), status="verified",
                    source="c2b", transaction_id=f"BW{n:09d}", mpesa_receipt=f"BW{n:09d}", transacted_at=when,
                    verified_at=when))
        # Each row recorded when it was paid (created_at is auto_now_add and the ledger is append-only):
        # the live reads bound the ledger by created_at, as production rows allow.
        for days, rows in sorted(by_day.items()):
            with mock.patch("django.utils.timezone.now", return_value=now - timedelta(days=days)):
                Transaction.objects.bulk_create(rows, batch_size=2000)
        made = list(Transaction.objects.filter(transaction_id__startswith="BW").order_by("transacted_at", "pk")
                    .values_list("pk", flat=True))
        for i in range(0, len(made), 500):
            deposits_score(transaction_ids=made[i:i + 500])
    call_command("analytics_backfill", "--org", SLUG, stdout=io.StringIO())
    connection.set_tenant(org)
    # A few deposits today (after the rollup's last day): the overview's live delta is never empty.
    now = timezone.now()
    live_n = Transaction.objects.filter(transaction_id__startswith="BL").count()
    fresh = [Transaction(user_id=ids[i % len(ids)], challenge=challenge, amount=Decimal("100"), status="verified",
                         source="c2b", transaction_id=f"BL{live_n + i:09d}", mpesa_receipt=f"BL{live_n + i:09d}",
                         transacted_at=now, verified_at=now) for i in range(20)]
    Transaction.objects.bulk_create(fresh)
    deposits_score(transaction_ids=[t.pk for t in Transaction.objects.filter(
        transaction_id__in=[t.transaction_id for t in fresh])])

    rotate = list(User.objects.filter(role="member").order_by("pk")[:ROTATE])
    admin = User.objects.filter(role="org_admin").order_by("pk").first()
    return {
        "org": org, "challenge": challenge,
        "members": [{"id": u.pk, "token": tokens_for_user(u)["access"], "session": session_for(u)} for u in rotate],
        "admin_session": session_for(admin),
        "ledger_rows": Transaction.objects.count(),
    }


def session_for(user) -> str:
    """A database session for `user`, as the OTP login makes it (accounts/views.py)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.backends import SESSION_BACKEND

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = SESSION_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


# --- the server: the Procfile's own `web` line ------------------------------------------------
def procfile_web(port: int) -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    command = line.split(":", 1)[1].strip()
    values = {"PORT": str(port)}

    def substitute(match):
        name, default = match.group(1), match.group(2)
        return values.get(name) or os.environ.get(name) or default

    command = re.sub(r"\$\{(\w+):-([^}]*)\}", substitute, command)
    return command.replace("0.0.0.0:", "127.0.0.1:")  # loopback only


def start(port: int, settings_module: str) -> subprocess.Popen:
    command = procfile_web(port)
    env = {**os.environ, **BENCH_ENV, "DJANGO_SETTINGS_MODULE": settings_module,
           "PATH": f"{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("web did not start: " + process.stderr.read().decode()[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("web did not start in 90 s")


def stop(process: subprocess.Popen) -> None:
    """Stop the process group this script started (and only that)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- wrk --------------------------------------------------------------------------------------
LUA = """
local members = {%(members)s}
local host = "%(host)s"
local pattern = "%(pattern)s"
local auth = "%(auth)s"
local i = 0
local non2xx = 0
function setup(thread) thread:set("id", math.random(1000)) end
request = function()
  i = i + 1
  local m = members[(i + id) %% #members + 1]
  local path = string.gsub(pattern, "{id}", m[1])
  local headers = {["Host"] = host}
  if auth == "bearer" then headers["Authorization"] = "Bearer " .. m[2]
  elseif auth == "session" then headers["Cookie"] = "sessionid=" .. m[3] end
  return wrk.format("GET", path, headers)
end
"""


def wrk(port: int, *, path: str, host: str, auth: str, members: list[dict], duration: int, connections: int,
        warmup: int) -> dict:
    rows = ",".join('{"%d","%s","%s"}' % (m["id"], m["token"], m["session"]) for m in members)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"members": rows, "host": host, "pattern": path, "auth": auth})
    url = f"http://127.0.0.1:{port}"
    base = ["wrk", "-t2", f"-c{connections}", "--latency", "-s", script.name]
    if warmup:
        subprocess.run([*base, f"-d{warmup}s", url], capture_output=True, text=True, timeout=warmup + 60)
    before = load_average()
    out = subprocess.run([*base, f"-d{duration}s", url], capture_output=True, text=True, timeout=duration + 60).stdout
    after = load_average()
    os.unlink(script.name)

    def ms(label):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(found.group(1)), found.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result = {"path": path, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "p50_ms": ms(50), "p99_ms": ms(99), "requests": int(re.search(r"(\d+) requests in", out).group(1)),
              "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else "",
              "load_before": before, "load_after": after}
    if result["non_2xx"]:
        raise RuntimeError(f"{path}: {result['non_2xx']} responses were not 2xx/3xx:\n{out}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--deposits-per-member", type=int, default=10)
    parser.add_argument("--port", type=int, default=9210)
    parser.add_argument("--only", default="")
    parser.add_argument("--out", default="")
    parser.add_argument("--setup-only", action="store_true", help="make the bench organization and stop")
    parser.add_argument("--fresh", action="store_true", help="drop the bench organization and make it again")
    args = parser.parse_args()

    data = setup(args.members, args.deposits_per_member, fresh=args.fresh)
    if args.setup_only:
        print(f"{SLUG}: {data['ledger_rows']} ledger rows")
        return
    org, challenge = data["org"], data["challenge"]
    host = f"{org.slug}.{settings.BASE_DOMAIN}"
    members, admin = data["members"], [{"id": 0, "token": "", "session": data["admin_session"]}]
    connection.close()  # nothing of ours holds a connection while the server is measured
    targets = [
        ("bare", "bare", "/bench/bare", "none", members),
        ("middleware", "app", "/bench/bare", "none", members),
        ("challenges", "app", "/api/v1/challenges", "bearer", members),
        ("leaderboard", "app", f"/api/v1/challenges/{challenge.pk}/leaderboard", "bearer", members),
        ("progress", "app", "/api/v1/members/{id}/progress", "bearer", members),
        ("achievements", "app", "/api/v1/members/{id}/achievements", "bearer", members),
        ("transactions", "app", "/api/v1/transactions", "bearer", members),
        ("home", "app", "/", "session", members),
        ("manage", "app", "/manage/", "session", admin),
    ]
    only = set(filter(None, args.only.split(",")))
    report = {"command": " ".join(shlex.quote(a) for a in sys.argv), "procfile_web": procfile_web(args.port),
              "uptime_start": uptime(), "ledger_rows": data["ledger_rows"], "members": args.members,
              "connections": args.connections, "duration_s": args.duration, "rounds": []}
    for round_no in range(args.rounds):
        results: dict[str, dict] = {}
        for server, settings_module in (("bare", "bench.settings_bare"), ("app", "bench.settings_bench")):
            process = start(args.port, settings_module)
            try:
                for name, on, path, auth, who in targets:
                    if on != server or (only and name not in only and name not in ("bare", "middleware")):
                        continue
                    results[name] = wrk(args.port, path=path, host=host, auth=auth, members=who,
                                        duration=args.duration, connections=args.connections, warmup=args.warmup)
                    print(f"round {round_no + 1} {name:13s} {results[name]['rps']:8.1f} req/s  "
                          f"p50 {results[name]['p50_ms']:7.2f} ms  p99 {results[name]['p99_ms']:7.2f} ms  "
                          f"load {results[name]['load_before']}->{results[name]['load_after']}", flush=True)
            finally:
                stop(process)
        bare, middleware = results["bare"]["rps"], results["middleware"]["rps"]
        for name, row in results.items():
            row["vs_bare"] = round(row["rps"] / bare, 3)
            row["vs_middleware"] = round(row["rps"] / middleware, 3)
        report["rounds"].append(results)
    report["uptime_end"] = uptime()
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

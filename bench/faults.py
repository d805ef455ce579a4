"""The fault campaign (issue 20), in the repo: the Procfile's processes on a PRIVATE PostgreSQL and Redis,
bounded bursts of Safaricom-shaped confirmations plus 10% replays, one fault injected mid-burst each,
verified against the sender's own record.

    .venv/bin/python bench/faults.py [--burst 300] [--threads 8] [--only redis,pg,...] [--settle 90]

Never touches the machine's servers: PostgreSQL is initdb'd into a temp dir (/usr/lib/postgresql/15/bin)
and Redis started on spare loopback ports; both are removed at the end. For every fault the table says,
of the TransIDs answered 200: how many were stored, credited, scored, credited twice (doubled), never
credited (lost), and the seconds from the dependency coming back until the last one was credited and
scored ("recover"). Targets: 0 lost, 0 doubled, no manual action, recover <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.payments.live import PrivatePostgres, PrivateRedis, free_port  # noqa: E402

SLUG = "fault"
MEMBERS = 20
FAULTS = ["redis", "worker_group", "pool_child", "web_worker", "postgres", "beat_and_redis", "failing_row"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Campaign:
    def __init__(self, *, burst: int, threads: int, settle: float, outage: float):
        self.burst, self.threads, self.settle, self.outage = burst, threads, settle, outage
        self.pg, self.redis = PrivatePostgres(), PrivateRedis()
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        import tempfile

        self.logs = Path(tempfile.mkdtemp(prefix="sg-faults-logs-"))  # kept after the run: the processes' logs
        self.env = {
            **os.environ, "DATABASE_URL": self.pg.url("savegame"), "REDIS_URL": self.redis.url,
            "DJANGO_SETTINGS_MODULE": "savegame.settings", "PORT": str(self.port), "DEBUG": "false",
            "SECRET_KEY": "fault-campaign", "LOG_LEVEL": "WARNING", "SMS_BACKEND": "console",
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        }
        self.seq = 0
        self.wanted: set[str] = set()  # processes the supervisor keeps running (a fault may take one out)
        self.restarts: list[str] = []
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.supervising = threading.Event()

    def _supervise(self) -> None:
        """What Procfile hosts and systemd (Restart=always, RestartSec=2) do: restart a process that exited."""
        while self.supervising.is_set():
            for name in sorted(self.wanted):
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None:
                    log(f"supervisor: {name} exited ({proc.returncode}); restarting it in 2 s")
                    self.procs.pop(name, None)
                    time.sleep(2)
                    if name in self.wanted:
                        self.restarts.append(name)
                        self.start(name)
            time.sleep(0.5)

    # --- set-up ---------------------------------------------------------------------------------------

    def manage(self, *args: str) -> str:
        return subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", *args], cwd=ROOT, env=self.env,
                              check=True, capture_output=True, text=True, timeout=600).stdout

    def setup(self) -> None:
        self.pg.init()
        self.pg.start()
        self.pg.psql("CREATE DATABASE savegame")
        self.redis.start()
        log(f"logs in {self.logs}")
        log("migrating the private PostgreSQL ...")
        self.manage("migrate_all", "-v", "0")
        self.manage("create_org", "--slug", SLUG, "--name", "Fault Chama", "--type", "chama",
                    "--admin-phone", "+254711900001", "--shortcode", "600100")
        out = self.manage("shell", "-c", (
            "from django_tenants.utils import schema_context\n"
            "from tenants.models import Organization\n"
            "from accounts.services import user_create\n"
            "import json\n"
            f"org = Organization.objects.get(slug='{SLUG}')\n"
            "with schema_context(org.schema_name):\n"
            f"    codes = [user_create(phone_number=f'+25470990{{i:04d}}', name=f'Saver {{i}}').account_code for i in range({MEMBERS})]\n"
            "print(json.dumps({'schema': org.schema_name, 'codes': codes}))\n"))
        info = json.loads(out.strip().splitlines()[-1])
        self.schema, self.codes = info["schema"], info["codes"]
        urls = json.loads(self.manage("mpesa_urls", "--org", SLUG))
        self.path = re.sub(r"^https?://[^/]+", "", urls["confirmation"])
        self.host = f"{SLUG}.localhost"

    def procfile(self) -> dict[str, str]:
        lines = (ROOT / "Procfile").read_text().splitlines()
        return {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines)
                if name.strip() in ("web", "worker", "beat")}

    def start(self, name: str) -> None:
        self.wanted.add(name)
        command = self.procfile()[name]
        if name == "beat":
            command += f" --schedule {self.logs}/celerybeat-schedule"
        out = open(self.logs / f"{name}.log", "ab")
        # `exec` the line's last command (web is `collectstatic && gunicorn ...`), so the process we hold is
        # the server itself and its children are its workers
        steps = command.split(" && ")
        command = " && ".join([*steps[:-1], f"exec {steps[-1]}"])
        self.procs[name] = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, name: str, sig=signal.SIGKILL) -> None:
        self.wanted.discard(name)
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)

    def worker_ready(self, timeout: float = 120) -> None:
        """Wait for the (re)started worker's "ready." line (its boot is slow on a loaded machine)."""
        path = self.logs / "worker.log"
        seen = path.read_bytes().count(b" ready.") if path.exists() else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and path.read_bytes().count(b" ready.") <= seen:
            time.sleep(0.2)

    def children(self, name: str) -> list[int]:
        parent = self.procs[name].pid
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
        return found

    def wait_web(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("web did not start")

    # --- the sender -----------------------------------------------------------------------------------

    def body(self, trans_id: str, code: str) -> dict:
        return {"TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": time.strftime("%Y%m%d%H%M%S"),
                "TransAmount": "100.00", "BusinessShortCode": "600100", "BillRefNumber": code,
                "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
                "MSISDN": "2e6f9b0d5885b6010f9167787445617f553a735f0e2d7a1d0a2a6f1c5c7a1b10",
                "FirstName": "John", "MiddleName": "", "LastName": ""}

    def send_burst(self, tag: str, record: dict, *, during=None, count: int | None = None) -> None:
        """Send `count` distinct confirmations (+10% replays) from `threads` threads; `during(i)` runs in
        the sender loop (the fault injector). record[trans_id] = True once any try was answered 200."""
        count = count or self.burst
        ids = [f"F{tag}{self.seq:02d}X{i:05d}".upper() for i in range(count)]
        self.seq += 1
        order = ids + random.sample(ids, max(1, count // 10))  # 10% replays
        session = requests.Session()

        def post(i_trans):
            i, trans_id = i_trans
            if during is not None:
                during(i)
            for _ in range(3):  # Daraja retries an unanswered callback
                try:
                    r = session.post(f"http://127.0.0.1:{self.port}{self.path}",
                                     json=self.body(trans_id, self.codes[hash(trans_id) % len(self.codes)]),
                                     headers={"Host": self.host}, timeout=10)
                    if r.status_code == 200 and r.json().get("ResultCode") == 0:
                        record[trans_id] = True
                        return
                    record.setdefault(trans_id, False)
                except requests.RequestException:
                    record.setdefault(trans_id, False)
                time.sleep(0.5)

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(post, enumerate(order)))

    # --- verification ---------------------------------------------------------------------------------

    def ledger(self, ids: list[str]) -> dict:
        with psycopg.connect(self.pg.url("savegame"), connect_timeout=3) as conn, conn.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "{self.schema}".payments_callbackinbox WHERE natural_key = ANY(%s)',
                        [ids])
            stored = cur.fetchone()[0]
            cur.execute(f'SELECT t.transaction_id, count(*), count(s.transaction_id) FROM "{self.schema}".payments_transaction t '
                        f'LEFT JOIN "{self.schema}".challenges_scoreddeposit s ON s.transaction_id = t.id '
                        "WHERE t.transaction_id = ANY(%s) GROUP BY t.transaction_id", [ids])
            rows = cur.fetchall()
            cur.execute(f"SELECT count(*) FROM \"{self.schema}\".payments_callbackinbox WHERE state = 'quarantined'")
            quarantined = cur.fetchone()[0]
        credited = len(rows)
        return {"stored": stored, "credited": credited, "scored": sum(1 for r in rows if r[2] >= 1),
                "doubled": sum(1 for r in rows if r[1] > 1), "quarantined": quarantined}

    def verify(self, record: dict, back_at: float) -> dict:
        answered = [t for t, ok in record.items() if ok]
        deadline = time.monotonic() + self.settle
        state = {}
        while time.monotonic() < deadline:
            try:
                state = self.ledger(answered)
            except psycopg.Error:
                time.sleep(0.5)
                continue
            if state["credited"] == len(answered) and state["scored"] == len(answered):
                break
            time.sleep(0.5)
        done = time.monotonic()
        recovered = state.get("credited") == len(answered) and state.get("scored") == len(answered)
        return {"sent": len(record), "answered_200": len(answered), **state,
                "lost": len(answered) - state.get("credited", 0),
                "recover_s": round(max(0.0, done - back_at), 1) if recovered else None}

    # --- the faults -----------------------------------------------------------------------------------

    def run_fault(self, fault: str) -> dict:
        record: dict = {}
        back = {"at": None}
        mid = self.burst // 2
        fired = threading.Event()

        def once(i, action):
            if i >= mid and not fired.is_set():
                fired.set()
                threading.Thread(target=action, daemon=True).start()

        def outage(down, up):
            def action():
                down()
                time.sleep(self.outage)
                up()
                back["at"] = time.monotonic()
            return action

        if fault == "redis":
            action = outage(lambda: self.redis.process.kill(), self.redis.start)
        elif fault == "worker_group":
            def action():
                self.stop("worker")
                time.sleep(self.outage)
                self.start("worker")
                self.worker_ready()  # the dependency is back once the new worker consumes
                back["at"] = time.monotonic()
        elif fault == "pool_child":
            def action():
                kids = self.children("worker")
                if kids:
                    os.kill(random.choice(kids), signal.SIGKILL)
                back["at"] = time.monotonic()
        elif fault == "web_worker":
            def action():
                kids = self.children("web")
                if kids:
                    os.kill(random.choice(kids), signal.SIGKILL)
                back["at"] = time.monotonic()
        elif fault == "postgres":
            action = outage(lambda: self.pg.stop("immediate"), self.pg.start)
        elif fault == "beat_and_redis":
            self.stop("beat")  # beat down for the whole fault: kicks alone must carry the tail

            def action():
                self.redis.process.kill()
                time.sleep(self.outage)
                self.redis.start()
                back["at"] = time.monotonic()
        elif fault == "failing_row":
            poison = {"id": None}

            def action():
                poison["id"] = f"FPOISON{self.seq:03d}"
                self.pg.psql(f'ALTER TABLE "{self.schema}".payments_callbackinbox ADD CONSTRAINT poison_row CHECK '
                             f"(state <> 'processed' OR natural_key <> '{poison['id']}')", database="savegame")
                self.send_one(poison["id"], record)
                time.sleep(self.outage * 2)
                self.pg.psql(f'ALTER TABLE "{self.schema}".payments_callbackinbox DROP CONSTRAINT poison_row',
                             database="savegame")
                back["at"] = time.monotonic()
        else:
            raise ValueError(fault)

        started = time.monotonic()
        self.restarts = []
        self.send_burst(fault[:4], record, during=lambda i: once(i, action))
        if fault == "beat_and_redis":  # the tail of the burst lands while Redis is down
            self.send_burst(fault[:3] + "t", record, count=max(20, self.burst // 10))
        while back["at"] is None and time.monotonic() - started < 300:
            time.sleep(0.2)
        result = {"fault": fault, **self.verify(record, back["at"] or time.monotonic()),
                  "supervisor_restarts": ",".join(self.restarts) or "-"}
        if fault == "beat_and_redis":
            self.start("beat")
        self.ensure_running()
        return result

    def send_one(self, trans_id: str, record: dict) -> None:
        try:
            r = requests.post(f"http://127.0.0.1:{self.port}{self.path}", json=self.body(trans_id, self.codes[0]),
                              headers={"Host": self.host}, timeout=10)
            record[trans_id] = r.status_code == 200
        except requests.RequestException:
            record[trans_id] = False

    def ensure_running(self) -> None:
        for name in ("web", "worker", "beat"):
            if name not in self.wanted:  # taken out by the fault: back in for the next one
                self.start(name)
        self.wait_web()

    def teardown(self) -> None:
        self.supervising.clear()
        for name in list(self.procs):
            self.stop(name)
        self.redis.stop()
        self.pg.destroy()


def print_table(results: list[dict]) -> None:
    columns = ["fault", "sent", "answered_200", "stored", "credited", "scored", "doubled", "lost", "quarantined",
               "recover_s", "supervisor_restarts"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds a dependency stays down")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for every deposit")
    parser.add_argument("--only", default=",".join(FAULTS))
    options = parser.parse_args()
    campaign = Campaign(burst=options.burst, threads=options.threads, settle=options.settle, outage=options.outage)
    results = []
    try:
        campaign.setup()
        for name in ("web", "worker", "beat"):
            campaign.start(name)
        campaign.supervising.set()
        campaign.supervisor.start()
        campaign.wait_web()
        log("warm-up burst")
        warm: dict = {}
        campaign.send_burst("warm", warm, count=50)
        results.append({"fault": "none (warm-up)", **campaign.verify(warm, time.monotonic())})
        for fault in options.only.split(","):
            log(f"fault: {fault}")
            results.append(campaign.run_fault(fault))
            log(json.dumps(results[-1]))
    finally:
        campaign.teardown()
    print_table(results)
    ok = all(r["lost"] == 0 and r["doubled"] == 0 and r["recover_s"] is not None and r["recover_s"] <= 30
             for r in results)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
